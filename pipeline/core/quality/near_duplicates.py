"""Near-duplicate consultations across batches: MinHash LSH over character n-grams, kept on disk.

Japanese has no spaces to split words on, so pages are shingled into character n-grams of their matching
key (NFKC, no whitespace, no punctuation): two pages that differ only in width, spacing or punctuation
have the same shingles. Signatures are one-permutation MinHash computed with numpy over many pages at once
(one hash per shingle instead of sha1 and num_perm permutations each). LSH banding is numpy too: each band
of a signature is hashed to one 64-bit key, and the pages sharing a key in some band are the candidate
pairs, found by sorting a batch's keys and searching the indexed pages' keys among them (datasketch's
MinHashLSH did the same search with one Python call per page). The index (page ids and content hashes,
signatures, the similar pairs found so far) is a few numpy and Parquet files under the caller's folder, so
a new batch is hashed and compared with the old ones instead of rebuilding everything: only pages whose
(page_id, content_hash) is new are (re)inserted.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import mmap
import os
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.core import workers
from pipeline.core.parts import PartRows, StoredPart
from pipeline.core.quality.normalise import matching_keys
from pipeline.core.schemas import NEAR_DUPLICATES

MANIFEST_FILE = "manifest.json"  # format, config, counts, the generation of the files below and their CRC-32; written last
_FILES = {"pages": "pages.{}.parquet", "signatures": "signatures.{}.npy", "pairs": "pairs.{}.npy"}  # per generation
# Everything an update may leave behind: files of older generations or of a crashed save, format 2's pickle.
_OWN_FILES = (*(pattern.format("*") for pattern in _FILES.values()), f".{MANIFEST_FILE}.*", "index.pkl")
_FORMAT = 4  # bump when the files change: an index of another format is rebuilt (it is derived data)
# The texts a page is shingled from, in this order; question and answer come as the matching keys
# consultations already hold (quality.signals), so the longest texts are not normalised a second time.
TEXT_COLUMNS = ("title", "question_key", "background", "answer_key")
_CHUNK = 1024  # pages keyed together: the texts and keys of a chunk are a few megabytes
# Pages hashed together: their shingle arrays (some 80k shingles, under a megabyte each) stay in the CPU's
# cache, which makes the two dozen numpy passes over them a third faster than over a whole chunk's million.
_BLOCK = 64
_PAIR_CHUNK = 1 << 14  # candidate pairs compared at a time: their signatures gathered are tens of megabytes
_EMPTY = np.uint32(0xFFFFFFFF)  # a bin no shingle fell in: bins keep the low 32 bits of the smallest shingle hash
_N_GRAM_BASE = np.uint64(0x100000001B3)  # odd: the polynomial hash of n code points, wrapping in uint64
_MIX_MULTIPLIERS = (np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53))
_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class DuplicateConfig:
    threshold: float = 0.8  # estimated Jaccard of the n-gram sets for two pages to be linked
    num_perm: int = 128  # signature bins (one-permutation MinHash): the estimate's error is about 1/sqrt(num_perm)
    ngram: int = 5  # characters per shingle
    seed: int = 1  # fixed: the same page always gets the same signature
    # LSH's (false positive, false negative) weights. Candidates are checked against the threshold anyway, so
    # a false positive costs one comparison and a false negative a missed duplicate: tune for recall (with
    # even weights, a pair at exactly the threshold is found 4 times in 10; with these, 19 in 20).
    lsh_weights: tuple[float, float] = (0.05, 0.95)


@dataclasses.dataclass(frozen=True)
class NearDuplicates:
    table: pa.Table  # schema NEAR_DUPLICATES: the pages of the given table, in page_id order
    inserted: tuple[str, ...]  # page ids hashed by this update: new pages and pages whose content changed
    n_indexed: int  # pages in the index after the update (every batch so far)


@dataclasses.dataclass
class _Index:
    pages: pa.Table  # page_id, content_hash: row i is the page of signatures[i]
    signatures: np.ndarray  # uint32 [pages, num_perm]
    pairs: np.ndarray  # int64 [pairs, 3]: rows a < b whose estimate reaches the threshold, and the bins they share
    generation: int  # the number in the names of its files on disk; 0: none yet


# The TEXT_COLUMNS of the given rows of the pages' table (ascending), in that order.
TextReader = Callable[[np.ndarray], pa.Table]


def update_index(
    index_dir: Path,
    consultations: pa.Table,
    config: DuplicateConfig = DuplicateConfig(),
    *,
    texts: TextReader | None = None,
    texts_in_workers: bool = False,
) -> NearDuplicates:
    """Insert the pages not yet indexed (or changed since), forget the ones no longer in `consultations` (the
    whole corpus), then cluster every indexed page.

    `consultations` holds page_id and content_hash, and the TEXT_COLUMNS unless `texts` reads them: then
    only the rows to hash are read (a corpus stored in parts reads the parts those rows are in, not all).
    `texts_in_workers`: `texts` pickles and reads in a worker process too (parts on this machine's file
    system), so many pages are hashed on every core.
    Clusters are the connected components of the pairs whose estimated Jaccard reaches the threshold; a
    cluster is named by its smallest page_id, so its id is stable while its smallest member stays.
    """
    index_dir = Path(index_dir)
    index = _load(index_dir, config)
    batch = _batch(consultations)
    known = pc.index_in(batch["page_id"], index.pages["page_id"])  # null for a new page
    unchanged = pc.equal(index.pages["content_hash"].take(known), batch["content_hash"]).fill_null(False)
    stale = batch.filter(pc.invert(unchanged))
    changed = pc.drop_null(known.filter(pc.invert(unchanged))).to_numpy()
    # A page no longer in the corpus (its file removed, its text id become an alias of a site id) would
    # still join clusters, name them and count in their size: it leaves the index with its pairs.
    gone = np.flatnonzero(pc.invert(pc.is_in(index.pages["page_id"], batch["page_id"])).to_numpy(zero_copy_only=False))
    forgotten = np.concatenate([changed, gone]).astype(np.int64)
    if forgotten.size:
        _forget(index, forgotten)
    if stale.num_rows:
        new = _signatures(texts or rows_of(consultations), stale["row"].to_numpy(), config, parallel=texts is not None and texts_in_workers)
        _insert(index, stale.select(["page_id", "content_hash"]), new, config)
    if forgotten.size or stale.num_rows or not index.generation:  # untouched otherwise: a rerun rewrites nothing
        _save(index_dir, index, config)
    table = _cluster_table(index, batch, config)
    return NearDuplicates(table=table, inserted=tuple(stale["page_id"].to_pylist()), n_indexed=index.pages.num_rows)


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


def _batch(consultations: pa.Table) -> pa.Table:
    """page_id, content_hash and row in the table of every page, in page_id order; a repeated page_id is its
    last row."""
    rows = pa.table({"page_id": consultations["page_id"], "row": np.arange(consultations.num_rows)})
    last = rows.group_by("page_id", use_threads=False).aggregate([("row", "max")]).sort_by("page_id")
    row = last["row_max"]
    return pa.table({"page_id": last["page_id"], "content_hash": consultations["content_hash"].take(row), "row": row})


def signatures(keys: list[str], config: DuplicateConfig) -> np.ndarray:
    """One MinHash signature per matching key: a (len(keys), num_perm) uint32 array.

    One-permutation hashing: each n-gram is hashed once, its hash picks one of num_perm bins and each bin
    keeps the smallest hash that fell in it, so the share of bins two pages agree on estimates the Jaccard
    of their n-gram sets as num_perm separate permutations would, at a num_perm-th of the cost.
    """
    blocks = [_block_signatures(keys[start : start + _BLOCK], config) for start in range(0, len(keys), _BLOCK)]
    return np.concatenate([np.empty((0, config.num_perm), np.uint32), *blocks])


def _block_signatures(keys: list[str], config: DuplicateConfig) -> np.ndarray:
    page, hashes = _shingle_hashes(keys, config.ngram, config.seed)
    slot = _bin(hashes, config.num_perm)
    page *= config.num_perm
    slot += page  # the index in a flattened (len(keys), num_perm) array
    slots = np.full(len(keys) * config.num_perm, _EMPTY)
    np.minimum.at(slots, slot, hashes.astype(np.uint32))
    return _densify(slots.reshape(len(keys), config.num_perm), config.seed)


def rows_of(consultations: pa.Table) -> TextReader:
    """A TextReader of a table in memory: its record batches read as parts (a take across a table's chunks
    joins them first, a copy of every text)."""
    batches = consultations.select(TEXT_COLUMNS).to_batches()
    return PartRows({f"{i:09d}": _batch_part(batch) for i, batch in enumerate(batches)}, TEXT_COLUMNS).take


def _batch_part(batch: pa.RecordBatch) -> StoredPart:
    return StoredPart(key="", memo={}, rows=batch.num_rows, read=lambda columns: pa.Table.from_batches([batch]).select(columns))


def _signatures(texts: TextReader, rows: np.ndarray, config: DuplicateConfig, *, parallel: bool = False) -> np.ndarray:
    """The signatures of the given rows, in that order. The rows are read in table order (a gather in page_id order
    would jump across the whole table for every chunk); with `parallel` and many rows, each worker process takes
    one run of consecutive rows, so that it reads each part its rows are in once."""
    order = np.argsort(rows, kind="stable")
    in_table_order = rows[order]
    spread = parallel and len(rows) >= workers.PARALLEL_MIN_PAGES
    runs = workers.consecutive_runs(in_table_order, workers.cores() if spread else 1)
    found = np.concatenate([
        np.empty((0, config.num_perm), np.uint32),
        *workers.in_order(functools.partial(_signatures_in_order, texts, config), runs, parallel=spread),
    ])  # fmt: skip
    result = np.empty_like(found)
    result[order] = found
    return result


def _signatures_in_order(texts: TextReader, config: DuplicateConfig, rows: np.ndarray) -> np.ndarray:
    """The signatures of these rows (ascending), _CHUNK rows at a time: the texts and keys of a chunk are a few
    megabytes, not gigabytes for a 100k batch."""
    chunks = [signatures(_matching_keys(texts(rows[start : start + _CHUNK])), config) for start in range(0, len(rows), _CHUNK)]
    return np.concatenate([np.empty((0, config.num_perm), np.uint32), *chunks])


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


# --- LSH ----------------------------------------------------------------------------------------


@functools.cache
def _bands(threshold: float, num_perm: int, weights: tuple[float, float]) -> tuple[int, int]:
    """(bands, rows per band) as datasketch's MinHashLSH chose them: the pair with the least weighted sum of
    the probabilities of a false positive (a pair below the threshold sharing a band) and of a false negative
    (a pair above it sharing none), each integrated over the similarity. The integrands are polynomials of
    degree at most num_perm, so Gauss-Legendre with num_perm // 2 + 1 nodes integrates them exactly."""
    nodes, node_weights = np.polynomial.legendre.leggauss(num_perm // 2 + 1)
    below, above = threshold * (nodes + 1) / 2, threshold + (1 - threshold) * (nodes + 1) / 2
    below_weights, above_weights = node_weights * threshold / 2, node_weights * (1 - threshold) / 2
    least, best = np.inf, (0, 0)
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            false_positive = below_weights @ (1 - (1 - below**rows) ** bands)
            false_negative = above_weights @ (1 - above**rows) ** bands
            error = weights[0] * false_positive + weights[1] * false_negative
            if error < least:  # the first of equal errors, as datasketch
                least, best = error, (bands, rows)
    return best


def _similar_pairs(signatures: np.ndarray, first: int, config: DuplicateConfig) -> np.ndarray:
    """[pairs, 3] int64: rows a < b, b from first on (new), that share a band and whose estimate reaches the
    threshold, and the bins they share."""
    bands, rows = _bands(config.threshold, config.num_perm, config.lsh_weights)
    keys = _band_keys(signatures, bands, rows)
    found = []
    for band, band_keys in enumerate(keys):
        a, b = _sharing_a_key(band_keys, first)
        for earlier in keys[:band]:  # each pair once, from the first band whose key it shares (no sort to dedupe)
            once = earlier[a] != earlier[b]
            a, b = a[once], b[once]
        for start in range(0, len(a), _PAIR_CHUNK):
            chunk = slice(start, start + _PAIR_CHUNK)
            found.append(_verified(signatures, a[chunk], b[chunk], bands, rows, config))
    return np.concatenate([np.empty((0, 3), np.int64), *found])


def _band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """[bands, pages] uint64: the values of each band of each signature hashed to one key (as n-grams are)."""
    values = signatures[:, : bands * rows].reshape(len(signatures), bands, rows)
    keys = values[:, :, 0].astype(np.uint64)
    for row in range(1, rows):
        keys *= _N_GRAM_BASE
        keys += values[:, :, row]
    return np.ascontiguousarray(keys.T)


def _sharing_a_key(keys: np.ndarray, first: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of rows (a < b) with the same key, at least one of them from first on (new). Only the new
    keys are sorted: the old ones are searched among them."""
    new, old = keys[first:], keys[:first]
    order = np.argsort(new)
    ordered = new[order]
    # Each new key pairs with the equal new keys after it in key order, each old key with every equal new key.
    place = np.searchsorted(ordered, old)
    shared = np.flatnonzero(ordered[np.minimum(place, len(ordered) - 1)] == old)  # the few old keys a new page has too
    rows = np.concatenate([order + first, shared])
    starts = np.concatenate([np.arange(1, len(new) + 1), place[shared]])
    counts = np.searchsorted(ordered, keys[rows], "right") - starts
    positions = np.repeat(starts, counts) + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    a, b = np.repeat(rows, counts), order[positions] + first
    return np.minimum(a, b), np.maximum(a, b)


def _verified(
    signatures: np.ndarray, a: np.ndarray, b: np.ndarray, bands: int, rows: int, config: DuplicateConfig
) -> np.ndarray:
    """The candidate pairs (a, b) that share a band and whose estimate reaches the threshold, with the bins
    they share. A 64-bit key can collide: only pairs whose band values are equal count, as in datasketch,
    whose keys were the values themselves."""
    equal = signatures[a] == signatures[b]
    shared = np.count_nonzero(equal, axis=1)
    in_a_band = equal[:, : bands * rows].reshape(len(a), bands, rows).all(axis=2).any(axis=1)
    keep = in_a_band & (shared / config.num_perm >= config.threshold)
    return np.stack([a[keep], b[keep], shared[keep]], axis=1)


# --- the index ------------------------------------------------------------------------------------


def _insert(index: _Index, pages: pa.Table, signatures: np.ndarray, config: DuplicateConfig) -> None:
    """Append the pages, with the pairs they form with the indexed pages and with each other."""
    first = index.pages.num_rows
    index.pages = pa.concat_tables([index.pages, pages]).combine_chunks()
    index.signatures = np.concatenate([index.signatures, signatures])
    index.pairs = np.concatenate([index.pairs, _similar_pairs(index.signatures, first, config)])


def _forget(index: _Index, rows: np.ndarray) -> None:
    """Take the rows of pages whose content changed, or that left the corpus, out of the index, with their pairs."""
    keep = np.ones(index.pages.num_rows, bool)
    keep[rows] = False
    pairs = index.pairs[keep[index.pairs[:, 0]] & keep[index.pairs[:, 1]]]
    pairs[:, :2] = (np.cumsum(keep) - 1)[pairs[:, :2]]  # the rows after them move up
    index.pages, index.signatures, index.pairs = index.pages.filter(keep), index.signatures[keep], pairs


def _cluster_table(index: _Index, batch: pa.Table, config: DuplicateConfig) -> pa.Table:
    rows = pc.index_in(batch["page_id"], index.pages["page_id"]).to_numpy()  # every page of the batch is indexed
    cluster, size, shared = _clusters(index)
    columns = [
        batch["page_id"],
        batch["content_hash"],
        index.pages["page_id"].take(cluster[rows]),
        pa.array(size[rows], pa.int32()),
        pa.array(shared[rows] / config.num_perm, mask=shared[rows] < 0),
    ]
    return pa.Table.from_arrays(columns, schema=NEAR_DUPLICATES)


def _clusters(index: _Index) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per indexed row: the row of the smallest page id of its cluster (connected by pairs; a page in no pair
    is its own), the cluster's size, and the most bins the page shares with another (-1: none)."""
    n = index.pages.num_rows
    a, b, shared = index.pairs.T
    paired = np.unique(index.pairs[:, :2])
    by_id = paired[pc.sort_indices(index.pages["page_id"].take(paired)).to_numpy()]
    rank = np.empty(n, np.int64)
    rank[by_id] = np.arange(len(by_id))  # ranks of the paired rows by page id: the smallest rank names a cluster
    cluster = np.arange(n)
    cluster[by_id] = by_id[_components(len(by_id), rank[a], rank[b])]
    most = np.full(n, -1)
    np.maximum.at(most, a, shared)
    np.maximum.at(most, b, shared)
    return cluster, np.bincount(cluster, minlength=n)[cluster], most


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest node of the connected component of each of nodes 0..n-1, linked by edges (a, b).

    Every node points to a node of its component no larger than itself; each round points the nodes of an
    edge, and what they pointed to, at the smaller of their targets, then follows pointers to their ends.
    At the fixed point both ends of every edge point to one node, which points to itself: the smallest.
    Repointing what the nodes pointed to is what makes this take a few rounds (12 for a chain of 100k nodes
    numbered at random) instead of one round per link.
    """
    target = np.arange(n)
    while True:
        low = np.minimum(target[a], target[b])
        moved = target.copy()
        for nodes in (a, b, target[a], target[b]):
            np.minimum.at(moved, nodes, low)
        while not np.array_equal(jumped := moved[moved], moved):
            moved = jumped
        if np.array_equal(moved, target):
            return target
        target = moved


# --- persistence --------------------------------------------------------------------------------


def _load(index_dir: Path, config: DuplicateConfig) -> _Index:
    """The index the manifest names; an empty one (every page then signed anew) when there is none, when it was
    built by another format or config, or when its files do not read back as they were written. It is derived
    data: a damaged index costs a rehash (≈ 3 s at 100k pages), never a failed step."""
    path = index_dir / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_bytes()) if path.is_file() else {}
        if not isinstance(manifest, dict):
            raise ValueError(f"a JSON {type(manifest).__name__}, not an object")
    except (OSError, ValueError) as exc:  # ValueError: not JSON, or not UTF-8
        _log.warning("%s does not read (%s): rebuilding the index", path, exc)
        return _empty_index(config, generation=0)
    generation = kept if isinstance(kept := manifest.get("generation"), int) else 0  # the next save goes past it
    # Signatures are comparable only within one format and one config: another one's index is built again, every
    # page signed anew (a changed threshold in the settings, the build then runs the corpus again).
    if manifest.get("format") != _FORMAT or manifest.get("config") != _config_json(config):
        if manifest:
            _log.warning("%s: format %s with %s, not %s with %s: rebuilding the index", path,
                         manifest.get("format"), manifest.get("config"), _FORMAT, _config_json(config))  # fmt: skip
        return _empty_index(config, generation)
    try:
        return _read_index(_files(index_dir, generation), manifest, config)
    except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
        _log.warning("the near-duplicate index in %s is damaged (%s): rebuilding it", index_dir, exc)
        return _empty_index(config, generation=0)  # saved by this update, whatever it inserts


_PAGES = pa.schema([("page_id", pa.string()), ("content_hash", pa.string())])  # the index's page listing


def _empty_index(config: DuplicateConfig, generation: int) -> _Index:
    return _Index(_PAGES.empty_table(), np.empty((0, config.num_perm), np.uint32), np.empty((0, 3), np.int64), generation=generation)


def _read_index(files: dict[str, Path], manifest: dict, config: DuplicateConfig) -> _Index:
    """The index's files, each checked against the CRC-32 the manifest holds of it and against the others' shapes."""
    for name, path in files.items():
        if _crc32(path) != manifest["crc32"][name]:
            raise ValueError(f"{path.name} is not the file that was written (CRC-32)")
    index = _Index(
        pages=pq.read_table(files["pages"]).combine_chunks(),
        signatures=np.load(files["signatures"], mmap_mode="r"),  # copied only where pages are inserted or forgotten
        pairs=np.load(files["pairs"]),
        generation=manifest["generation"],
    )
    n = index.pages.num_rows
    columns = [(field.name, field.type) for field in index.pages.schema]  # not their nullability
    shapes = (columns, index.signatures.dtype, index.signatures.shape, index.pairs.dtype, index.pairs.shape[1:])
    if shapes != ([(field.name, field.type) for field in _PAGES], np.uint32, (n, config.num_perm), np.int64, (3,)):
        raise ValueError(f"pages {index.pages.schema.names} ({n}), signatures {index.signatures.dtype} "
                         f"{index.signatures.shape}, pairs {index.pairs.dtype} {index.pairs.shape}")  # fmt: skip
    if len(index.pairs) and not (0 <= index.pairs[:, :2].min() and index.pairs[:, :2].max() < n):
        raise ValueError(f"pairs name rows beyond the {n} pages")
    return index


def _save(index_dir: Path, index: _Index, config: DuplicateConfig) -> None:
    """Write the files of a new generation, then the manifest that names it, through a temporary file: a crash
    before the manifest is replaced leaves the old index whole (and files the next save deletes)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    index.generation += 1
    files = _files(index_dir, index.generation)
    pq.write_table(index.pages, files["pages"])
    np.save(files["signatures"], index.signatures)
    np.save(files["pairs"], index.pairs)
    manifest = {
        "format": _FORMAT,
        "config": _config_json(config),
        "generation": index.generation,
        "pages": index.pages.num_rows,
        "pairs": len(index.pairs),
        "crc32": {name: _crc32(path) for name, path in files.items()},  # of the bytes on disk
    }
    _write_atomically(index_dir / MANIFEST_FILE, json.dumps(manifest, indent=1).encode("utf-8"))
    current = set(files.values())
    for path in {path for pattern in _OWN_FILES for path in index_dir.glob(pattern)} - current:
        path.unlink()


def _crc32(path: Path) -> int:
    """The CRC-32 of the file's bytes, read through a memory map (no copy of the signatures' tens of megabytes)."""
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return zlib.crc32(data)


def _files(index_dir: Path, generation: int) -> dict[str, Path]:
    return {name: index_dir / pattern.format(generation) for name, pattern in _FILES.items()}


def _config_json(config: DuplicateConfig) -> dict:
    """The config as the manifest holds it (JSON has lists, not tuples)."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def _write_atomically(path: Path, data: bytes) -> None:
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as handle:
        handle.write(data)
    os.replace(handle.name, path)
