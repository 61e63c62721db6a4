#include "tables.h"

#include <algorithm>
#include <cmath>

namespace dsfft {

int64_t isqrt64(int64_t v) {
  int64_t r = static_cast<int64_t>(std::sqrt(static_cast<double>(v)));
  while (r * r > v) --r;
  while ((r + 1) * (r + 1) <= v) ++r;
  return r;
}

RadialTables make_radial_tables(int side) {
  RadialTables t;
  t.side = side;
  t.half_w = side / 2 + 1;
  const int64_t m = side / 2;
  t.n_radii = static_cast<int>(isqrt64(2 * m * m)) + 1;
  const int64_t n_elems = static_cast<int64_t>(side) * t.half_w;
  std::vector<int32_t> bin(n_elems);
  t.count.assign(t.n_radii, 0.0);
  std::vector<int32_t> per_bin(t.n_radii, 0);
  for (int i = 0; i < side; ++i) {
    const int64_t ky = std::min(i, side - i);  // rfft row order 0, 1, .., -1: only |ky| matters
    for (int kx = 0; kx < t.half_w; ++kx) {
      const int64_t idx = static_cast<int64_t>(i) * t.half_w + kx;
      const int r = static_cast<int>(isqrt64(ky * ky + static_cast<int64_t>(kx) * kx));
      const bool single = kx == 0 || (side % 2 == 0 && kx == t.half_w - 1);
      bin[idx] = r;
      t.count[r] += single ? 1.0 : 2.0;
      ++per_bin[r];
    }
  }
  t.offsets.assign(t.n_radii + 1, 0);
  for (int r = 0; r < t.n_radii; ++r) t.offsets[r + 1] = t.offsets[r] + per_bin[r];
  t.perm.resize(n_elems);
  std::vector<int32_t> fill(t.offsets.begin(), t.offsets.end() - 1);
  for (int64_t idx = 0; idx < n_elems; ++idx) t.perm[fill[bin[idx]]++] = static_cast<int32_t>(idx);
  return t;
}

ResampleTaps make_taps(const RadialTables& t, int bins) {
  std::vector<int32_t> radii;
  for (int r = 0; r < t.n_radii; ++r)
    if (t.count[r] > 0) radii.push_back(r);
  ResampleTaps taps;
  taps.left_bin.resize(bins);
  taps.right_bin.resize(bins);
  taps.frac.resize(bins);
  const double r_max = t.n_radii - 1.0;
  const double step = bins > 1 ? r_max / (bins - 1) : 0.0;
  const int n = static_cast<int>(radii.size());
  for (int j = 0; j < bins; ++j) {
    const double x = (j == bins - 1) ? r_max : j * step;  // np.linspace pins the last point
    int right = static_cast<int>(std::upper_bound(radii.begin(), radii.end(), x) - radii.begin());
    right = std::clamp(right, 1, std::max(1, n - 1));
    const int left = right - 1;
    const double span = radii[right] - radii[left];
    double frac = span > 0 ? (x - radii[left]) / span : 0.0;
    taps.left_bin[j] = radii[left];
    taps.right_bin[j] = radii[right];
    taps.frac[j] = std::clamp(frac, 0.0, 1.0);
  }
  return taps;
}

}  // namespace dsfft
