"""Near-duplicate consultations across batches: MinHash LSH over character n-grams, kept on disk.

Japanese has no spaces to split words on, so pages are shingled into character n-grams of their matching
key (NFKC, no whitespace, no punctuation): two pages that differ only in width, spacing or punctuation
have the same shingles. The index (datasketch's MinHashLSH, the signatures and the similar pairs found so
far) lives in one pickle under the caller's folder, so a new batch is hashed and queried against the old
ones instead of rebuilding everything: only pages whose (page_id, content_hash) is new are (re)inserted.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datasketch import MinHash, MinHashLSH

from pipeline.core.quality.normalise import matching_keys
from pipeline.core.schemas import NEAR_DUPLICATES

INDEX_FILE = "index.pkl"  # the state the next update reads
MANIFEST_FILE = "manifest.json"  # a readable copy of what is indexed: config and page_id -> content_hash
_FORMAT = 1  # bump when the pickled layout changes: an old index is then refused, not misread
_TEXT_COLUMNS = ("title", "question", "background", "answer")


@dataclasses.dataclass(frozen=True)
class DuplicateConfig:
    threshold: float = 0.8  # estimated Jaccard of the n-gram sets for two pages to be linked
    num_perm: int = 128  # MinHash permutations: the estimate's error is about 1/sqrt(num_perm)
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
    state = _load(index_dir, config)
    pages = dict(zip(consultations["page_id"].to_pylist(), consultations["content_hash"].to_pylist()))
    stale = sorted(page for page, content in pages.items() if state["pages"].get(page) != content)
    for page in stale:
        if page in state["pages"]:
            _forget(state, page)
    texts = _shingle_texts(consultations.filter(pc.is_in(consultations["page_id"], pa.array(stale, pa.string()))))
    for page in stale:
        _insert(state, page, pages[page], minhash(texts[page], config), config.threshold)
    if stale or not (index_dir / INDEX_FILE).is_file():  # untouched otherwise: a rerun rewrites nothing
        _save(index_dir, state)
    return NearDuplicates(table=_cluster_table(state, pages), inserted=tuple(stale), n_indexed=len(state["pages"]))


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


def shingles(key: str, ngram: int) -> set[str]:
    """Character n-grams of a matching key; a key shorter than n is its own single shingle."""
    if len(key) <= ngram:
        return {key}
    return {key[start : start + ngram] for start in range(len(key) - ngram + 1)}


def minhash(key: str, config: DuplicateConfig) -> MinHash:
    signature = MinHash(num_perm=config.num_perm, seed=config.seed)
    signature.update_batch([shingle.encode("utf-8") for shingle in sorted(shingles(key, config.ngram))])
    return signature


def _shingle_texts(consultations: pa.Table) -> dict[str, str]:
    """page_id -> the matching key of title, question, background and answer, in that order."""
    keys = [matching_keys(consultations[name]).fill_null("").to_pylist() for name in _TEXT_COLUMNS]
    return {page: "".join(parts) for page, *parts in zip(consultations["page_id"].to_pylist(), *keys)}


def _insert(state: dict, page: str, content_hash: str, signature: MinHash, threshold: float) -> None:
    """Link the page to the indexed pages LSH proposes whose estimate reaches the threshold, then index it."""
    lsh: MinHashLSH = state["lsh"]
    hashvalues = signature.hashvalues
    for other in lsh.query(signature):
        similarity = float(np.mean(state["signatures"][other] == hashvalues))
        if similarity >= threshold:  # LSH candidates include some pairs below it
            state["edges"].setdefault(page, {})[other] = similarity
            state["edges"].setdefault(other, {})[page] = similarity
    lsh.insert(page, signature)
    state["signatures"][page] = hashvalues
    state["pages"][page] = content_hash


def _forget(state: dict, page: str) -> None:
    """Take a page whose content changed out of the index, with its pairs."""
    state["lsh"].remove(page)
    for other in state["edges"].pop(page, {}):
        state["edges"][other].pop(page)
    del state["signatures"][page], state["pages"][page]


def _cluster_table(state: dict, pages: dict[str, str]) -> pa.Table:
    cluster_of = _components(state["pages"], state["edges"])
    sizes: dict[str, int] = {}
    for cluster in cluster_of.values():
        sizes[cluster] = sizes.get(cluster, 0) + 1
    rows = [
        {
            "page_id": page,
            "content_hash": pages[page],
            "dup_cluster": cluster_of[page],
            "dup_cluster_size": sizes[cluster_of[page]],
            "dup_similarity": max(state["edges"][page].values()) if state["edges"].get(page) else None,
        }
        for page in sorted(pages)
    ]
    return pa.Table.from_pylist(rows, schema=NEAR_DUPLICATES)


def _components(pages: dict[str, str], edges: dict[str, dict[str, float]]) -> dict[str, str]:
    """page -> smallest page id of its connected component (union-find, the smaller root wins)."""
    parent = {page: page for page in pages}

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
    return {page: root(page) for page in pages}


# --- persistence --------------------------------------------------------------------------------


def _load(index_dir: Path, config: DuplicateConfig) -> dict:
    path = index_dir / INDEX_FILE
    if not path.is_file():
        return {
            "format": _FORMAT,
            "config": dataclasses.asdict(config),
            "lsh": MinHashLSH(threshold=config.threshold, num_perm=config.num_perm, weights=config.lsh_weights),
            "pages": {},  # page_id -> content_hash
            "signatures": {},  # page_id -> MinHash hash values
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
