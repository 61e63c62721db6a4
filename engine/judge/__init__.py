"""What decides verdicts: per-crop trust, track confirmation, per-track and per-stream voting.

- :mod:`engine.judge.quality`: how much a face crop can be trusted (detector and image facts);
- :mod:`engine.judge.confirm`: which face tracks are real faces, and so may vote;
- :mod:`engine.judge.vote`: a track's probabilities -> a verdict that does not flicker;
- :mod:`engine.judge.stream_vote`: tracks -> the stream's verdict;
- :mod:`engine.judge.site_threshold`: a threshold per site from known-real footage;
- :mod:`engine.judge.verdicts` and :mod:`engine.judge.records`: the verdict vocabulary, exit
  codes and the output records of a run.

Everything here is pure bookkeeping on numbers: no media, no model, no I/O.
"""
