"""The statistical model beside the rules, as the web process uses it: a linear classifier over stored
weights, answered in pure Python (no numpy, no scikit-learn in any serving process).

Its labels are what a text can be: a report of each catalogue category, or one of the other intents (query,
stop, start, help, chat, spam). `Model.probabilities(features)` is a softmax over the linear scores divided
by the temperature fitted when it was trained (sms.understanding.train), so a probability of 0.6 is right
about 60 % of the time on texts the model had not seen, and a threshold on it means what it says.

The file is gzip'd JSON: labels, feature names, int16 weights with one scale, the biases, the temperature
and how it was trained. The one shipped in the package (data/model.json.gz) loads in well under a second
with no download; an office's retrained model is stored in the database (sms.understanding.store) and
replaces it in every process within the cache's half minute.
"""
from __future__ import annotations

import base64
import gzip
import json
import math
import sys
from array import array
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

FORMAT = 1
SHIPPED = "data/model.json.gz"


@dataclass
class Model:
    labels: tuple[str, ...]
    rows: dict[str, int]              # feature -> offset of its weights (one per label)
    weights: array                    # float32, len(rows) * len(labels)
    bias: tuple[float, ...]
    temperature: float = 1.0
    meta: dict = field(default_factory=dict)

    def probabilities(self, features: dict[str, float]) -> dict[str, float]:
        width = len(self.labels)
        totals = list(self.bias)
        weights, rows = self.weights, self.rows
        for name, value in features.items():
            offset = rows.get(name)
            if offset is None:
                continue
            row = weights[offset:offset + width]
            totals = [t + value * w for t, w in zip(totals, row)]
        scaled = [t / self.temperature for t in totals]
        top = max(scaled)
        exps = [math.exp(s - top) for s in scaled]
        whole = sum(exps)
        return {label: e / whole for label, e in zip(self.labels, exps)}

    # ------------------------------------------------------------ storage

    def to_bytes(self) -> bytes:
        largest = max((abs(w) for w in self.weights), default=1.0) or 1.0
        scale = largest / 32767
        quantised = array("h", (round(w / scale) for w in self.weights))
        if sys.byteorder != "little":
            quantised.byteswap()
        names = sorted(self.rows, key=self.rows.get)
        body = {"format": FORMAT, "labels": list(self.labels), "features": names, "bias": list(self.bias),
                "temperature": self.temperature, "scale": scale, "meta": self.meta,
                "weights": base64.b64encode(quantised.tobytes()).decode("ascii")}
        return gzip.compress(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), mtime=0)

    @classmethod
    def from_bytes(cls, data: bytes) -> "Model":
        body = json.loads(gzip.decompress(data))
        if body.get("format") != FORMAT:
            raise ValueError(f"unknown model format {body.get('format')!r}")
        quantised = array("h")
        quantised.frombytes(base64.b64decode(body["weights"]))
        if sys.byteorder != "little":
            quantised.byteswap()
        scale = body["scale"]
        width = len(body["labels"])
        return cls(tuple(body["labels"]), {name: i * width for i, name in enumerate(body["features"])},
                   array("f", (q * scale for q in quantised)), tuple(body["bias"]), body["temperature"],
                   body.get("meta", {}))


@lru_cache(maxsize=1)
def shipped() -> Model | None:
    """The model that ships with the package (None only in a tree where it was never trained)."""
    resource = resources.files("sms.understanding").joinpath(SHIPPED)
    if not resource.is_file():
        return None
    return Model.from_bytes(resource.read_bytes())


def shipped_path():
    return resources.files("sms.understanding").joinpath(SHIPPED)
