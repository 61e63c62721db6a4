"""Published peer detectors, scored on the same crops as our classifier."""

from train.peers.keras_h5 import KerasH5Error, read_keras_h5
from train.peers.mesonet import Meso4, MesoInception4, MesoNetPeer, load_mesonet

__all__ = [
    "KerasH5Error",
    "Meso4",
    "MesoInception4",
    "MesoNetPeer",
    "load_mesonet",
    "read_keras_h5",
]
