// Host-side lookup tables for one crop size: which radius bin every rfft2 half-plane element
// falls in, ordered so that a warp can reduce one bin without atomics. Same definition as
// engine/features/radial_plan.py (exact integer floor(sqrt(ky^2 + kx^2)), weights 1 or 2).
#pragma once

#include <cstdint>
#include <vector>

namespace dsfft {

struct RadialTables {
  int side = 0;
  int half_w = 0;   // side / 2 + 1 columns of the R2C output
  int n_radii = 0;  // isqrt(2 * (side / 2)^2) + 1
  std::vector<int32_t> perm;     // half-plane element indices grouped by bin, row-major inside one
  std::vector<int32_t> offsets;  // bin r owns perm[offsets[r] .. offsets[r + 1])
  std::vector<double> count;     // full-plane elements per bin (the half-plane weights summed)
};

struct ResampleTaps {
  std::vector<int32_t> left_bin, right_bin;  // radius bins on either side of each output point
  std::vector<double> frac;                  // weight of right_bin
};

int64_t isqrt64(int64_t v);
RadialTables make_radial_tables(int side);
// Linear interpolation from the non-empty bins (nodes at their radius) onto `bins` points of
// [0, n_radii - 1], exactly as np.interp(np.linspace(0, R - 1, bins), radii, profile).
ResampleTaps make_taps(const RadialTables& t, int bins);

}  // namespace dsfft
