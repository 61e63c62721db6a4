"""Render a benchmark document as Markdown tables (``bench.md``), for the docs.

Every figure in ``docs/BENCHMARKS*.md`` is pasted from this rendering of one ``bench.json``, so
the docs never hold a number that the tool did not write.
"""

from __future__ import annotations

import math


def _f(v, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:,.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out + [""]


def machine_line(doc: dict) -> str:
    m = doc.get("machine", {})
    gpus = ", ".join(f"{g['name']} (compute capability {g['compute_capability']})"
                     for g in m.get("gpus", [])) or f"no GPU ({m.get('gpu_note', '')})"
    libs = ", ".join(f"{k} {v}" for k, v in sorted(m.get("libraries", {}).items()))
    return (f"{m.get('cpu_model')} ({m.get('usable_cpus')} usable CPUs, "
            f"{m.get('physical_cores')} physical cores), {gpus}; {m.get('os')}; "
            f"python {m.get('python')}; {libs}; ORT providers: "
            f"{', '.join(m.get('ort_providers', []))}; load average at the end "
            f"{m.get('load_average')}; {m.get('timestamp_utc')}")


STAGE_ORDER = (
    "decode", "detect", "detect_regions", "track", "crop", "spectral", "preprocess", "classify",
    "vote",
)


def _stage_order(item: tuple[str, dict]) -> tuple[int, str]:
    name = item[0]
    return (STAGE_ORDER.index(name) if name in STAGE_ORDER else len(STAGE_ORDER), name)


def _stage(st: dict, name: str, key: str = "p50_ms") -> str:
    return _f(st.get(name, {}).get(key), 1)


def render(doc: dict) -> str:
    """The whole document as Markdown."""
    lines = [f"Machine: {machine_line(doc)}", ""]
    inputs = doc.get("inputs", {})
    lines += [f"Input: {', '.join(inputs.get('videos', []))} ({inputs.get('source', '')}); "
              f"median face crop side {inputs.get('crop_side_median')} px.", ""]
    base = doc.get("baseline")
    rows = []
    for r in doc.get("pipeline", []):
        st = r["stages"]
        rows.append([r["bench_backend"], r["precision"], str(r["max_batch"]), _f(r["fps"]),
                     _f(r["faces_per_s"]), _f(r.get("speedup_vs_baseline")),
                     _stage(st, "decode"), _stage(st, "detect"), _stage(st, "spectral"),
                     f"{_stage(st, 'classify')} / {_stage(st, 'classify', 'p90_ms')} / "
                     f"{_stage(st, 'classify', 'p99_ms')}", _f(r.get("mean_batch")),
                     _f(r["peak_rss_mib"], 0), _f(r.get("load_avg_1m"))])
    if base:
        st = base["stages"]
        rows.append(["**baseline**", "fp32", "1 (per face)", _f(base["fps"]),
                     _f(base["faces_per_s"]), "1.0", _stage(st, "decode"), _stage(st, "detect"),
                     _stage(st, "spectral"),
                     f"{_stage(st, 'classify')} / {_stage(st, 'classify', 'p90_ms')} / "
                     f"{_stage(st, 'classify', 'p99_ms')}", "1", _f(base["peak_rss_mib"], 0),
                     _f(base.get("load_avg_1m"))])
    lines += ["### One stream, end to end", "",
              "ONNX Runtime / TensorRT rows merge two halves (ABBA order: first half forward, "
              "second half in reverse); the torch rows and the baseline ran once, in child "
              "processes, between the halves. `load 1m` is the machine's mean 1-minute load "
              "average over a row's parts.", ""]
    lines += _table(["backend", "precision", "max batch", "fps", "faces/s", "x baseline",
                     "decode p50 ms", "detect p50 ms", "spectral p50 ms",
                     "classify p50 / p90 / p99 ms", "mean batch", "peak RSS MiB", "load 1m"],
                    rows)
    if base:
        how = base["model"].get("how", "")
        lines += [f"Baseline: {base['detector']}; classifier {base['model']['model_name']} "
                  f"({base['model']['weights']}; architecture {how}); "
                  f"{'; '.join(base.get('notes', []))}; {base['frames']} frames, "
                  f"{base['faces']} faces; its process loaded ONNX Runtime: "
                  f"{base.get('process_loaded_onnxruntime')}.", ""]
    first = (doc.get("pipeline") or [{}])[0].get("stages", {})
    if first:
        lines += ["Stage latency of the first row (ms; frame stages per frame, the others "
                  "per batch):", ""]
        lines += _table(["stage", "calls", "p50", "p90", "p99", "max", "total"],
                        [[k, str(v["count"]), _f(v["p50_ms"], 2), _f(v["p90_ms"], 2),
                          _f(v["p99_ms"], 2), _f(v["max_ms"], 2), _f(v["total_ms"], 0)]
                         for k, v in sorted(first.items(), key=_stage_order)])
    lines += ["### Classifier and spectral feature alone (real face crops)", ""]
    rows = [[c["bench_backend"], c["precision"], str(c["batch"]), _f(c["latency"]["p50_ms"], 2),
             _f(c["latency"]["p90_ms"], 2), _f(c["latency"]["p99_ms"], 2),
             _f(c["crops_per_s"])] for c in doc.get("classifier", [])]
    spec_name = doc.get("spectral_backend", {}).get("name", "")
    rows += [[f"spectral ({spec_name})", "float64" if spec_name == "cpu" else "float32",
              str(c["batch"]), _f(c["latency"]["p50_ms"], 2), _f(c["latency"]["p90_ms"], 2),
              _f(c["latency"]["p99_ms"], 2), _f(c["crops_per_s"])]
             for c in doc.get("spectral", [])]
    lines += _table(["what", "precision", "batch", "p50 ms", "p90 ms", "p99 ms", "crops/s"],
                    rows)
    sc = doc.get("scaling")
    if sc and sc.get("rows"):
        lines += [f"### Scaling: simultaneous 640x480 file streams "
                  f"({sc['runs'][0]['bench_backend']}, max batch {sc['runs'][0]['max_batch']})",
                  ""]
        rows = [[str(r["streams"]), _f(r["fps"]), _f(r["per_stream_fps"]), _f(r["faces_per_s"]),
                 _f(r["faces_per_frame"], 2), "yes" if r["realtime"] else "no",
                 _f(r.get("engine_fps")), _f(r.get("engine_per_stream_fps")),
                 "-" if "engine_realtime" not in r else ("yes" if r["engine_realtime"] else "no"),
                 _f(r["peak_rss_mib"], 0)] for r in sc["rows"]]
        lines += _table(["streams", "fps after warm-up", "fps/stream", "faces/s",
                         "faces/frame", f"real time ({sc['realtime_fps']:g} fps)", "engine fps",
                         "engine fps/stream", "engine real time", "peak RSS MiB"], rows)
        lines += [f"Largest stream count screened in real time: after warm-up "
                  f"{sc['max_realtime_streams']}, engine "
                  f"{sc.get('max_realtime_streams_engine', '-')}. Cost from the stage clocks: "
                  f"{_f(sc.get('ms_per_stream_frame'), 2)} ms per stream-frame (decode + detect"
                  f" amortised + track), {_f(sc.get('ms_per_face'), 2)} ms per face (crop + "
                  f"spectral + preprocess + classify + vote); least-squares fit of wall time per "
                  f"round: {_f(sc.get('fit_ms_per_added_stream'), 2)} ms per added stream.", ""]
    if doc.get("street", {}).get("runs"):
        lines += ["### street.mp4 (1920x1080, 4-7 faces), looped, as `screen` runs it", ""]
        rows = [[str(r["full_detect_every"] or "every detection"), str(r["frames"]),
                 _f(r["fps"]), str(r["classified"]), str(r.get("mirrored", "-")),
                 str(r["skipped"]), str(r["tracks"]),
                 str(r.get("detections", "-")), _f(r["stage_ms_per_frame"].get("detect", 0.0), 1),
                 _f(r["stage_ms_per_frame"].get("detect_regions", 0.0), 1),
                 _f(r["stage_ms_per_frame"].get("classify", 0.0), 1)]
                for r in doc["street"]["runs"]]
        lines += _table(["full-frame detection every", "frames", "fps (whole run)", "crops",
                         "mirrored", "skipped", "tracks", "faces detected", "detect ms/frame",
                         "regions ms/frame", "classify ms/frame"], rows)
    if doc.get("budget_check", {}).get("clips"):
        from bench.onset import budget_markdown

        lines += budget_markdown(doc["budget_check"])
    lim = doc.get("limits")
    if lim:
        lines += ["### Physical limits (measured in the same run)", ""]
        rates = lim.get("rates")
        rows = [["device rates", lim.get("rates_error", "not measured")]] if not rates else [
            ["device GEMM rate", f"{_f(rates['matmul_gflops'])} GFLOP/s "
             f"({rates['matmul_dtype']}, {rates['detail']})"],
            ["device copy bandwidth", f"{_f(rates['bandwidth_gbs'])} GB/s (read + write)"]]
        if "classifier_macs_per_crop" in lim:
            rows.append(["classifier MACs per crop (ONNX graph)",
                         f"{lim['classifier_macs_per_crop'] / 1e6:,.1f} M "
                         f"({lim['classifier_flops_per_crop'] / 1e6:,.1f} MFLOP)"])
        cb = lim.get("classifier_best")
        if cb:
            rows.append(["classifier best measured",
                         f"{_f(cb['crops_per_s'])} crops/s ({cb['bench_backend']}, batch "
                         f"{cb['batch']}) = {_f(cb['achieved_gflops'], 2)} GFLOP/s, "
                         f"{_f(100 * cb['fraction_of_matmul_rate'])} % of the GEMM rate"])
            rows.append(["classifier bound at the GEMM rate",
                         f"{_f(cb['crops_per_s_at_matmul_rate'])} crops/s"])
        sb = lim.get("spectral_best")
        if sb:
            rows.append(["spectral minimum bytes per crop",
                         f"{sb['bytes_per_crop_min'] / 1e6:,.2f} MB ({sb['crop_side']} px side, "
                         f"{sb['precision']})"])
            rows.append(["spectral best measured",
                         f"{_f(sb['crops_per_s'])} crops/s (batch {sb['batch']}) = at least "
                         f"{_f(sb['achieved_gbs_lower_bound'], 2)} GB/s, "
                         f"{_f(100 * sb['fraction_of_bandwidth'])} % of the copy bandwidth"])
            rows.append(["spectral bound at the copy bandwidth",
                         f"{_f(sb['crops_per_s_at_bandwidth'])} crops/s"])
        lines += _table(["quantity", "value"], rows)
    lines += targets(doc)
    if doc.get("unavailable"):
        lines += ["Not measured here:", ""]
        lines += [f"- {k}: {v}" for k, v in doc["unavailable"].items()] + [""]
    return "\n".join(lines)


def targets(doc: dict, realtime_fps: float = 25.0, speedup: float = 5.0) -> list[str]:
    """The project's two CPU targets, checked against this document's own figures."""
    lines = ["### Targets", ""]
    rows = []
    int8 = [r for r in doc.get("pipeline", []) if r["bench_backend"] == "ort-int8"]
    sc = doc.get("scaling", {})
    one = next((r for r in sc.get("rows", []) if r["streams"] == 1), None)
    sc_backend = sc["runs"][0]["bench_backend"] if sc.get("runs") else None
    if int8:
        best = max(int8, key=lambda r: r["fps"])
        got = f"{_f(best['fps'])} fps (pipeline, batch {best['max_batch']})"
        ok = best["fps"] >= realtime_fps
        if one is not None and sc_backend == "ort-int8" and "engine_fps" in one:
            got += f"; threaded engine {_f(one['engine_fps'])} fps"
            ok = ok or one["engine_realtime"]
        rows.append([f"one 640x480 stream at {realtime_fps:g} fps, ORT INT8", got,
                     "yes" if ok else "no"])
    else:
        rows.append([f"one 640x480 stream at {realtime_fps:g} fps, ORT INT8",
                     "no INT8 model measured", "-"])
    base = doc.get("baseline")
    ours = int8 or [r for r in doc.get("pipeline", []) if r["bench_backend"].startswith("ort")]
    if base and ours:
        # INT8 when it was measured (the configuration the target is about), else the best ORT.
        best = max(ours, key=lambda r: r["fps"])
        ratio = best["fps"] / base["fps"] if base["fps"] else float("nan")
        worst = min(ours, key=lambda r: r["fps"])
        rows.append([f">= {speedup:g}x the baseline's fps",
                     f"{_f(ratio)}x ({best['bench_backend']} batch {best['max_batch']}: "
                     f"{_f(best['fps'])} fps vs baseline {_f(base['fps'], 2)} fps; slowest "
                     f"{worst['bench_backend']} row {_f(worst['fps'] / base['fps'])}x)",
                     "yes" if ratio >= speedup else "no"])
    else:
        rows.append([f">= {speedup:g}x the baseline's fps", "baseline not measured", "-"])
    from bench.onset import issue32_targets

    rows += issue32_targets(doc)
    return lines + _table(["target", "measured in this run", "met"], rows)
