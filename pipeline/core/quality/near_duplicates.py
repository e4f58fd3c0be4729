"""Near-duplicate consultations across batches: MinHash LSH over character n-grams, kept on disk.

Japanese has no spaces to split words on, so pages are shingled into character n-grams of their matching
key (NFKC, no whitespace, no punctuation): two pages that differ only in width, spacing or punctuation
have the same shingles. Signatures are one-permutation MinHash computed with numpy over many pages at once
(one hash per shingle instead of sha1 and num_perm permutations each); datasketch's MinHashLSH finds the
candidate pairs. The index (the LSH, the signatures and the similar pairs found so far) lives in one pickle
under the caller's folder, so a new batch is hashed and queried against the old ones instead of rebuilding
everything: only pages whose (page_id, content_hash) is new are (re)inserted.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import gc
import json
import os
import pickle
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datasketch import LeanMinHash, MinHashLSH

from pipeline.core.quality.normalise import matching_keys
from pipeline.core.schemas import NEAR_DUPLICATES

INDEX_FILE = "index.pkl"  # the state the next update reads
MANIFEST_FILE = "manifest.json"  # a readable copy of what is indexed: config and page_id -> content_hash
_FORMAT = 2  # bump when the pickled layout changes: an old index is then refused, not misread
# The texts a page is shingled from, in this order; question and answer come as the matching keys
# consultations already hold (quality.signals), so the longest texts are not normalised a second time.
TEXT_COLUMNS = ("title", "question_key", "background", "answer_key")
_CHUNK = 1024  # pages keyed and hashed together: numpy works on a million shingles at a time
_EMPTY = np.uint32(0xFFFFFFFF)  # a bin no shingle fell in: bins keep the low 32 bits of the smallest shingle hash
_SCHEME = "affine32"  # datasketch's label for uint32 values: it only keeps an index from mixing sketch kinds
_N_GRAM_BASE = np.uint64(0x100000001B3)  # odd: the polynomial hash of n code points, wrapping in uint64
_MIX_MULTIPLIERS = (np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53))


@dataclasses.dataclass(frozen=True)
class DuplicateConfig:
    threshold: float = 0.8  # estimated Jaccard of the n-gram sets for two pages to be linked
    num_perm: int = 128  # signature bins (one-permutation MinHash): the estimate's error is about 1/sqrt(num_perm)
    ngram: int = 5  # characters per shingle
    seed: int = 1  # fixed: the same page always gets the same signature
    # LSH's (false positive, false negative) weights. Candidates are checked against the threshold anyway, so
    # a false positive costs one comparison and a false negative a missed duplicate: tune for recall (with
    # datasketch's even default, a pair at exactly the threshold is found 4 times in 10; with this, 19 in 20).
    lsh_weights: tuple[float, float] = (0.05, 0.95)


@dataclasses.dataclass(frozen=True)
class NearDuplicates:
    table: pa.Table  # schema NEAR_DUPLICATES: the pages of the given table, in page_id order
    inserted: tuple[str, ...]  # page ids hashed by this update: new pages and pages whose content changed
    n_indexed: int  # pages in the index after the update (every batch so far)


def update_index(index_dir: Path, consultations: pa.Table, config: DuplicateConfig = DuplicateConfig()) -> NearDuplicates:
    """Insert the pages not yet indexed (or changed since), then cluster every indexed page.

    Clusters are the connected components of the pairs whose estimated Jaccard reaches the threshold; a
    cluster is named by its smallest page_id, so its id is stable while its smallest member stays.
    """
    index_dir = Path(index_dir)
    with _collector_paused():
        state = _load(index_dir, config)
        ids = consultations["page_id"].to_pylist()
        pages = dict(zip(ids, consultations["content_hash"].to_pylist()))
        stale = sorted(page for page, content in pages.items() if state["pages"].get(page) != content)
        if stale:
            _forget(state, [page for page in stale if page in state["pages"]])
            row_of = {page: row for row, page in enumerate(ids)}  # the last row of a repeated page_id, as in pages
            rows = [row_of[page] for page in stale]
            _insert(state, stale, [pages[page] for page in stale], _signatures(consultations, rows, config), config)
        if stale or not (index_dir / INDEX_FILE).is_file():  # untouched otherwise: a rerun rewrites nothing
            _save(index_dir, state)
        table = _cluster_table(state, pages)
    return NearDuplicates(table=table, inserted=tuple(stale), n_indexed=len(state["pages"]))


def duplicate_summary(near_duplicates: pa.Table) -> dict[str, int | float]:
    """Pages in a cluster with more than one member, and how many such clusters (for metadata and the card)."""
    sizes = near_duplicates["dup_cluster_size"].to_pylist()
    in_clusters = sum(size > 1 for size in sizes)
    clusters = {c for c, size in zip(near_duplicates["dup_cluster"].to_pylist(), sizes) if size > 1}
    return {
        "pages": len(sizes),
        "pages_in_clusters": in_clusters,
        "clusters": len(clusters),
        "duplicate_rate": round(in_clusters / len(sizes), 4) if sizes else 0.0,
    }


def signatures(keys: list[str], config: DuplicateConfig) -> np.ndarray:
    """One MinHash signature per matching key: a (len(keys), num_perm) uint32 array.

    One-permutation hashing: each n-gram is hashed once, its hash picks one of num_perm bins and each bin
    keeps the smallest hash that fell in it, so the share of bins two pages agree on estimates the Jaccard
    of their n-gram sets as num_perm separate permutations would, at a num_perm-th of the cost.
    """
    page, hashes = _shingle_hashes(keys, config.ngram, config.seed)
    slot = _bin(hashes, config.num_perm)
    page *= config.num_perm
    slot += page  # the index in a flattened (len(keys), num_perm) array
    slots = np.full(len(keys) * config.num_perm, _EMPTY)
    np.minimum.at(slots, slot, hashes.astype(np.uint32))
    return _densify(slots.reshape(len(keys), config.num_perm), config.seed)


def minhash(key: str, config: DuplicateConfig) -> LeanMinHash:
    """The signature of one matching key as a datasketch MinHash (what the LSH takes; .jaccard estimates)."""
    return _lean(signatures([key], config)[0], config)


def _signatures(consultations: pa.Table, rows: list[int], config: DuplicateConfig) -> np.ndarray:
    """The signatures of the given rows, in that order, _CHUNK rows at a time: the texts, keys and shingle
    arrays of a chunk are a few megabytes, not gigabytes for a 100k batch. The rows are read in table order
    (a gather in page_id order would jump across the whole table for every chunk)."""
    order = np.argsort(np.asarray(rows, np.int64), kind="stable")
    in_table_order = np.asarray(rows, np.int64)[order]
    texts = consultations.select(TEXT_COLUMNS)
    chunks = []
    for start in range(0, len(rows), _CHUNK):
        wanted = in_table_order[start : start + _CHUNK]
        first = int(wanted[0])  # take from the slice the rows span: a take on the whole table joins its chunks
        span = texts.slice(first, int(wanted[-1]) - first + 1)
        chunks.append(signatures(_matching_keys(span.take(pa.array(wanted - first))), config))
    found = np.concatenate([np.empty((0, config.num_perm), np.uint32), *chunks])
    result = np.empty_like(found)
    result[order] = found
    return result


def _matching_keys(texts: pa.Table) -> list[str]:
    """The matching key of title, question, background and answer, in that order, per row."""
    keys = [(texts[name] if name.endswith("_key") else matching_keys(texts[name])).fill_null("") for name in TEXT_COLUMNS]
    return pc.binary_join_element_wise(*keys, "").to_pylist()


def _shingle_hashes(keys: list[str], ngram: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(row of the key, 64-bit hash) of every n-gram of every key; a key shorter than n is its one n-gram.

    The keys are hashed as one array of code points, then the windows that straddle two keys are dropped.
    """
    padded = [key.rjust(ngram, "\0") for key in keys]  # NUL is never in a key: the padding marks a short key
    lengths = np.fromiter(map(len, padded), np.intp, len(padded))
    points = np.frombuffer("".join(padded).encode("utf-32-le"), np.uint32)
    windows = len(points) - ngram + 1
    hashes = points[:windows].astype(np.uint64)
    for offset in range(1, ngram):
        hashes *= _N_GRAM_BASE
        hashes += points[offset : windows + offset]
    inside = np.ones(windows, bool)
    inside[(np.cumsum(lengths)[:-1, None] - np.arange(1, ngram)).ravel()] = False
    page = np.repeat(np.arange(len(keys)), lengths - ngram + 1)
    hashes = hashes[inside]
    hashes ^= np.uint64(seed)
    return page, _mix(hashes)


def _densify(slots: np.ndarray, seed: int) -> np.ndarray:
    """Fill empty bins from other bins of the same page (Shrivastava 2017, "optimal densification").

    Short pages leave bins empty (e^-4 of them at 4 shingles a bin), and two unrelated short pages would agree
    on those. An empty bin probes a fixed pseudo-random sequence of bins instead, the same for every page, and
    copies the first filled one: two pages then agree on it with probability their Jaccard, as on a filled bin.
    """
    empty = slots == _EMPTY
    filled = slots.copy()
    rows = np.flatnonzero(empty.any(axis=1))
    todo = empty[rows]
    bins = np.arange(slots.shape[1], dtype=np.uint64)
    attempt = 0
    while rows.size:
        attempt += 1
        probe = _bin(_mix((bins + np.uint64(attempt * len(bins))) ^ np.uint64(seed << 32)), len(bins))
        found = todo & ~empty[rows][:, probe]
        row, column = np.nonzero(found)
        filled[rows[row], column] = slots[rows[row], probe[column]]
        todo &= ~found
        left = todo.any(axis=1)
        rows, todo = rows[left], todo[left]
    return filled


def _mix(hashes: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser, in place: every output bit depends on every input bit (a polynomial
    hash's low bits only depend on the code points' low bits)."""
    shifted = np.empty_like(hashes)
    for multiplier in _MIX_MULTIPLIERS:
        hashes ^= np.right_shift(hashes, np.uint64(33), out=shifted)
        hashes *= multiplier
    hashes ^= np.right_shift(hashes, np.uint64(33), out=shifted)
    return hashes


def _bin(hashes: np.ndarray, bins: int) -> np.ndarray:
    """The high 32 bits of each hash scaled to [0, bins): uniform without a modulo (the low 32 are the value)."""
    scaled = hashes >> np.uint64(32)
    scaled *= np.uint64(bins)
    scaled >>= np.uint64(32)
    return scaled.view(np.intp)  # below bins: the same number as a signed index


def _lean(hashvalues: np.ndarray, config: DuplicateConfig) -> LeanMinHash:
    return LeanMinHash(seed=config.seed, hashvalues=hashvalues, scheme=_SCHEME)


def _insert(state: dict, pages: list[str], content_hashes: list[str], new: np.ndarray, config: DuplicateConfig) -> None:
    """Index the pages, linking each to the indexed pages LSH proposes whose estimate reaches the threshold."""
    first = len(state["pages"])
    state["pages"].update(zip(pages, content_hashes))
    state["signatures"] = all_signatures = np.concatenate([state["signatures"], new])
    row_of = {page: row for row, page in enumerate(state["pages"])}
    lsh: MinHashLSH = state["lsh"]
    for row, page in enumerate(pages, start=first):
        signature = _lean(all_signatures[row], config)
        candidates = list(lsh.query(signature))
        rows = np.fromiter(map(row_of.__getitem__, candidates), np.int64, len(candidates))
        similarities = np.count_nonzero(all_signatures[rows] == all_signatures[row], axis=1) / config.num_perm
        # LSH candidates include many pairs below the threshold: only those reaching it reach Python.
        for position in np.flatnonzero(similarities >= config.threshold).tolist():
            other, similarity = candidates[position], float(similarities[position])
            state["edges"].setdefault(page, {})[other] = similarity
            state["edges"].setdefault(other, {})[page] = similarity
        lsh.insert(page, signature, check_duplication=False)  # stale pages were forgotten first


def _forget(state: dict, pages: list[str]) -> None:
    """Take pages whose content changed out of the index, with their pairs and signature rows."""
    gone = set(pages)
    rows = [row for row, page in enumerate(state["pages"]) if page in gone]
    state["signatures"] = np.delete(state["signatures"], rows, axis=0)
    for page in pages:
        state["lsh"].remove(page)
        for other in state["edges"].pop(page, {}):
            state["edges"][other].pop(page)
        del state["pages"][page]


def _cluster_table(state: dict, pages: dict[str, str]) -> pa.Table:
    cluster_of = _components(state["edges"])  # pages in no pair are a cluster of their own
    sizes = collections.Counter(cluster_of.values())
    ids = sorted(pages)
    clusters = [cluster_of.get(page, page) for page in ids]
    columns = [
        ids,
        [pages[page] for page in ids],
        clusters,
        [sizes.get(cluster, 1) for cluster in clusters],
        [max(state["edges"][page].values()) if state["edges"].get(page) else None for page in ids],
    ]
    arrays = [pa.array(column, field.type) for column, field in zip(columns, NEAR_DUPLICATES)]
    return pa.Table.from_arrays(arrays, schema=NEAR_DUPLICATES)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while the LSH's millions of small sets are unpickled or built: it would
    walk them again and again for cycles they cannot form (a third of the time of an update at 100k pages)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _components(edges: dict[str, dict[str, float]]) -> dict[str, str]:
    """page -> smallest page id of its connected component, for the pages in edges (union-find, the smaller
    root wins)."""
    parent = {page: page for page in edges}

    def root(page: str) -> str:
        while parent[page] != page:
            parent[page] = parent[parent[page]]
            page = parent[page]
        return page

    for page, neighbours in edges.items():
        for other in neighbours:
            a, b = root(page), root(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return {page: root(page) for page in parent}


# --- persistence --------------------------------------------------------------------------------


def _load(index_dir: Path, config: DuplicateConfig) -> dict:
    path = index_dir / INDEX_FILE
    if not path.is_file():
        return {
            "format": _FORMAT,
            "config": dataclasses.asdict(config),
            "lsh": MinHashLSH(threshold=config.threshold, num_perm=config.num_perm, weights=config.lsh_weights),
            "pages": {},  # page_id -> content_hash
            "signatures": np.empty((0, config.num_perm), np.uint32),  # row i: the i-th page of "pages"
            "edges": {},  # page_id -> {page_id: estimated Jaccard}, both directions
        }
    with path.open("rb") as handle:
        state = pickle.load(handle)  # our own file under the caller's folder, not untrusted input
    if state.get("format") != _FORMAT or state.get("config") != dataclasses.asdict(config):
        raise ValueError(
            f"{path} was built with format {state.get('format')} and {state.get('config')}, not format {_FORMAT} and "
            f"{dataclasses.asdict(config)}: signatures are not comparable across settings; use a new index folder"
        )
    return state


def _save(index_dir: Path, state: dict) -> None:
    """Write the pickle, then the manifest, each through a temporary file, so a crash leaves the old one."""
    index_dir.mkdir(parents=True, exist_ok=True)
    manifest = {"config": state["config"], "pages": dict(sorted(state["pages"].items()))}
    _write_atomically(index_dir / INDEX_FILE, pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
    _write_atomically(index_dir / MANIFEST_FILE, json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"))


def _write_atomically(path: Path, data: bytes) -> None:
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as handle:
        handle.write(data)
    os.replace(handle.name, path)
