"""Near-duplicates: what clusters at the default threshold, what does not, and the on-disk index."""

from __future__ import annotations

import functools
import json
import random
import zlib

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.core import workers
from pipeline.core.parts import PartRows, StoredPart
from pipeline.core.quality import near_duplicates as nd
from pipeline.core.quality.normalise import matching_key
from pipeline.core.schemas import NEAR_DUPLICATES
from tests.test_quality_support import ANSWER_SENTENCES, answer, consultation, keyed_table

# An answer long enough (about 600 characters) for n-gram statistics to mean what they do on real pages.
STORY = "{who}さんは、知人に頼まれて車を貸したところ、その知人が事故を起こしました。{who}さんにも責任があるのでしょうか。"
ANSWER = answer(
    "車を貸した人も、運行供用者として責任を問われることがあります。",
    "自動車損害賠償保障法は、自己のために自動車を運行の用に供する者に、人身事故の損害を賠償する責任を負わせています。",
    "貸した相手との関係や貸した期間、車の管理の状況などから、貸主が運行を支配していたといえるかが判断されます。",
    "たとえば、家族や親しい友人に短い期間だけ貸した場合には、貸主も責任を負うとされやすい傾向があります。",
    "一方で、無断で持ち出された場合や、長期間にわたって貸し出していた場合には、責任が否定されることもあります。",
    "物損事故については、この法律ではなく民法の不法行為の規定によって判断されます。",
    "任意保険の補償範囲に運転者の限定がある場合、借りた人の運転では保険金が支払われないこともあるため注意が必要です。",
    "事故の相手方から請求を受けたときは、まず加入している保険会社に連絡し、事故の状況を詳しく伝えましょう。",
    "責任の有無や割合に争いがあるときは、交通事故に詳しい弁護士に相談することをおすすめします。",
)
OTHER_ANSWER = answer(
    "相続放棄は、自分が相続人になったことを知った時から三か月以内に、家庭裁判所へ申述する必要があります。",
    "期間内に財産の調査が終わらないときは、期間の伸長を申し立てることができます。",
    "放棄をすると、初めから相続人でなかったものとみなされ、預貯金も借金も引き継ぎません。",
    "財産の一部を処分してしまうと、単純承認をしたものとみなされ、放棄ができなくなるおそれがあります。",
    "遺品の整理を始める前に、何が処分にあたるのかを専門家に確認しておくと安心です。",
)


def page(page_id: str, who: str = "A", text: str = ANSWER, **fields) -> dict:
    return consultation(page_id, question=STORY.format(who=who), answer_text=text, category="交通事故", **fields)


def indexed_pages(index_dir) -> dict[str, str]:
    """page_id -> content_hash, from the page listing the manifest names."""
    generation = json.loads((index_dir / nd.MANIFEST_FILE).read_text(encoding="utf-8"))["generation"]
    listing = pq.read_table(index_dir / f"pages.{generation}.parquet")
    return dict(zip(listing["page_id"].to_pylist(), listing["content_hash"].to_pylist()))


def files_of(index_dir) -> dict[str, tuple[int, int]]:
    return {path.name: (path.stat().st_ino, path.stat().st_mtime_ns) for path in index_dir.iterdir()}


def estimated_jaccard(a: str, b: str, config: nd.DuplicateConfig) -> float:
    """The share of signature bins two keys agree on: what the index compares with the threshold."""
    first, second = nd.signatures([a, b], config)
    return float(np.mean(first == second))


def clusters(index_dir, *pages: dict) -> dict[str, tuple]:
    result = nd.update_index(index_dir, keyed_table(list(pages)))
    return {row["page_id"]: (row["dup_cluster"], row["dup_similarity"]) for row in result.table.to_pylist()}


def test_person_letter_only_differs(tmp_path):
    found = clusters(tmp_path, page("20240101000000-2", "A"), page("20240101000000-1", "B"))
    assert found["20240101000000-2"][0] == found["20240101000000-1"][0] == "20240101000000-1"
    assert nd.DuplicateConfig().threshold <= found["20240101000000-2"][1] < 1.0


def test_whitespace_width_and_punctuation_only_differ(tmp_path):
    respaced = ANSWER.replace("。", "。\n").replace("、", "，").replace("三か月", "３か月") + "\n\n"
    found = clusters(tmp_path, page("h0000000000000001"), page("h0000000000000002", text=respaced))
    assert found["h0000000000000001"] == found["h0000000000000002"] == ("h0000000000000001", 1.0)


def test_one_sentence_rewritten_still_clusters(tmp_path):
    rewritten = ANSWER.replace(
        "物損事故については、この法律ではなく民法の不法行為の規定によって判断されます。",
        "車が壊れただけの事故では、民法の一般的なルールに従って責任の有無が決まります。",
    )
    assert rewritten != ANSWER
    found = clusters(tmp_path, page("h0000000000000001"), page("h0000000000000002", text=rewritten))
    assert found["h0000000000000002"][0] == "h0000000000000001"


def test_different_pages_do_not_cluster(tmp_path):
    inheritance = consultation("h0000000000000002", question="亡くなった父に借金がありました。相続放棄はできますか?", answer_text=OTHER_ANSWER)
    # Same opening and closing advice, different substance: shared boilerplate must not make a duplicate.
    same_frame = page("h0000000000000003", text=answer(*ANSWER.split("\n\n")[:2], *OTHER_ANSWER.split("\n\n")))
    result = nd.update_index(tmp_path, keyed_table([page("h0000000000000001"), inheritance, same_frame]))
    assert result.table["dup_cluster"].to_pylist() == ["h0000000000000001", "h0000000000000002", "h0000000000000003"]
    assert result.table["dup_similarity"].to_pylist() == [None, None, None]
    assert nd.duplicate_summary(result.table) == {"pages": 3, "pages_in_clusters": 0, "clusters": 0, "duplicate_rate": 0.0}


def test_incremental_update_inserts_only_new_pages_and_clusters_across_batches(tmp_path):
    inheritance = consultation("h0000000000000009", question="相続の相談です。", answer_text=OTHER_ANSWER)
    first = nd.update_index(tmp_path, keyed_table([page("20240101000000-5", "C"), inheritance]))
    assert first.inserted == ("20240101000000-5", "h0000000000000009")
    second = nd.update_index(tmp_path, keyed_table([page("20240202000000-1", "D"), page("20240101000000-5", "C"), inheritance]))
    assert second.inserted == ("20240202000000-1",)  # the batch-1 pages are unchanged: not hashed again
    assert second.n_indexed == 3
    assert second.table.schema.equals(NEAR_DUPLICATES)
    assert second.table.select(["page_id", "dup_cluster", "dup_cluster_size"]).to_pylist() == [
        {"page_id": "20240101000000-5", "dup_cluster": "20240101000000-5", "dup_cluster_size": 2},
        {"page_id": "20240202000000-1", "dup_cluster": "20240101000000-5", "dup_cluster_size": 2},
        {"page_id": "h0000000000000009", "dup_cluster": "h0000000000000009", "dup_cluster_size": 1},
    ]


def test_a_page_that_left_the_corpus_leaves_its_cluster_and_the_index(tmp_path):
    """A text page later identified by its site id (the h-id becomes an alias), or one whose file was removed:
    kept in the index, it made a page that is alone in the corpus a near-duplicate of itself."""
    nd.update_index(tmp_path, keyed_table([page("h0000000000000001", "A"), page("20240101000000-2", "B")]))
    result = nd.update_index(tmp_path, keyed_table([page("20240101000000-1", "A")]))
    assert result.inserted == ("20240101000000-1",)
    assert result.table.select(["page_id", "dup_cluster", "dup_cluster_size", "dup_similarity"]).to_pylist() == [
        {"page_id": "20240101000000-1", "dup_cluster": "20240101000000-1", "dup_cluster_size": 1, "dup_similarity": None}
    ]
    assert indexed_pages(tmp_path) == {"20240101000000-1": page("20240101000000-1", "A")["content_hash"]}
    assert result.n_indexed == 1


def test_changed_content_is_reindexed_and_leaves_its_cluster(tmp_path):
    nd.update_index(tmp_path, keyed_table([page("h0000000000000001", "E"), page("h0000000000000002", "F")]))
    changed = consultation("h0000000000000002", question="相続放棄の期限はいつまでですか?", answer_text=OTHER_ANSWER)
    result = nd.update_index(tmp_path, keyed_table([page("h0000000000000001", "E"), changed]))
    assert result.inserted == ("h0000000000000002",)
    assert result.table["dup_cluster_size"].to_pylist() == [1, 1]
    assert indexed_pages(tmp_path) == {
        "h0000000000000001": page("h0000000000000001", "E")["content_hash"],
        "h0000000000000002": changed["content_hash"],
    }


def test_clusters_chain_through_a_middle_page_and_are_named_by_the_smallest_id(tmp_path):
    sentences = ANSWER.split("\n\n")
    ending = "新しい最後の段落として、示談の前に必ず専門家の意見を聞くようにしてください。"
    middle = answer(*sentences[:-1], ending)
    far = answer(*sentences[:-2], ending, "交渉の記録は、あとで紛争になったときの重要な証拠になります。")
    first, last = page("h0000000000000003"), page("h0000000000000001", text=far)
    config = nd.DuplicateConfig()
    keys = [matching_key(row["question"] + row["answer"]) for row in (first, last)]
    # The two ends are too far apart to be linked directly: only the middle page joins them.
    assert estimated_jaccard(*keys, config) < config.threshold
    result = nd.update_index(tmp_path, keyed_table([first, page("h0000000000000002", text=middle), last]))
    assert result.table["dup_cluster"].to_pylist() == ["h0000000000000001"] * 3
    assert result.table["dup_cluster_size"].to_pylist() == [3, 3, 3]


def test_same_input_gives_the_same_result_in_a_fresh_index(tmp_path):
    pages = keyed_table([page("h0000000000000001", "G"), page("h0000000000000002", "H")])
    assert nd.update_index(tmp_path / "one", pages).table.equals(nd.update_index(tmp_path / "two", pages).table)


def test_an_index_built_with_other_settings_is_built_again(tmp_path):
    """A changed threshold failed every build, --force too, until the index folder was changed by hand."""
    pages = keyed_table([page("h0000000000000001", "G"), page("h0000000000000002", "H")])
    nd.update_index(tmp_path, pages)
    other = nd.DuplicateConfig(ngram=3)
    rebuilt = nd.update_index(tmp_path, pages, other)
    assert rebuilt.table.equals(nd.update_index(tmp_path / "fresh", pages, other).table)
    assert sorted(rebuilt.inserted) == ["h0000000000000001", "h0000000000000002"]  # every page signed anew
    assert nd.update_index(tmp_path, pages, other).inserted == ()  # and kept from then on


def test_signature_rows_stay_with_their_pages_when_a_page_in_the_middle_changes(tmp_path):
    inheritance = consultation("h0000000000000001", question="相続の相談です。", answer_text=OTHER_ANSWER)
    loan = consultation("h0000000000000002", question="貸金の相談です。")
    nd.update_index(tmp_path, keyed_table([inheritance, loan, page("h0000000000000003", "A")]))
    reordered = consultation("h0000000000000002", question="貸金の相談です。", answer_text=answer(*reversed(ANSWER_SENTENCES)))
    assert nd.update_index(tmp_path, keyed_table([reordered])).inserted == ("h0000000000000002",)
    # The new page can only match h...3, whose signature must still be its own after h...2 left the middle.
    result = nd.update_index(tmp_path, keyed_table([page("h0000000000000003", "A"), page("h0000000000000004", "B")]))
    assert result.table["dup_cluster"].to_pylist() == ["h0000000000000003"] * 2
    assert result.table["dup_cluster_size"].to_pylist() == [2, 2]


def test_a_rerun_with_nothing_new_rewrites_nothing(tmp_path):
    pages = keyed_table([page("h0000000000000001", "A"), page("h0000000000000002", "B")])
    first = nd.update_index(tmp_path, pages)
    written = files_of(tmp_path)
    assert len(written) == 4  # the manifest, page listing, signatures and pairs
    again = nd.update_index(tmp_path, pages)
    assert again.inserted == () and again.table.equals(first.table)
    assert files_of(tmp_path) == written


def test_signatures_depend_on_the_set_of_character_ngrams_only():
    config = nd.DuplicateConfig(ngram=2)
    same_ngrams = nd.signatures(["相続相続", "続相続", "相続相続相続"], config)  # all three: {相続, 続相}
    assert (same_ngrams == same_ngrams[0]).all()
    assert estimated_jaccard("相続相続", "相続放棄", config) < 1.0


def test_a_key_shorter_than_n_is_its_own_single_shingle():
    short = nd.signatures(["相続", "続相", "相続", ""], nd.DuplicateConfig(ngram=3))
    assert (short[0] == short[2]).all() and not (short[0] == short[1]).any() and not (short[0] == short[3]).any()
    assert (short[0] == short[0][0]).all()  # a set of one: every bin holds its hash


def test_a_signature_does_not_depend_on_the_keys_hashed_with_it(monkeypatch):
    monkeypatch.setattr(nd, "_BLOCK", 2)  # and not on the block it is hashed in
    config = nd.DuplicateConfig()
    keys = [matching_key(ANSWER), "相続", "", matching_key(OTHER_ANSWER), "相続放棄"]
    together = nd.signatures(keys, config)
    assert together.dtype == np.uint32 and together.shape == (len(keys), config.num_perm)
    for key, signature in zip(keys, together):
        assert (signature == nd.signatures([key], config)[0]).all()


def perturbed_copies(seed: int = 5, n: int = 20) -> list[dict]:
    """n random texts of our own (1,500 characters a page), each with a close copy (one character in 100
    changed: an exact Jaccard near 0.9, linked) and a far one (one in 10: near 0.4, not linked)."""
    rng = random.Random(seed)
    kanji = [chr(code) for code in range(0x4E00, 0x4E00 + 2000)]
    originals = ["".join(rng.choices(kanji, k=1500)) for _ in range(n)]

    def perturbed(text: str, share: float) -> str:
        chars = list(text)
        for position in rng.sample(range(len(chars)), int(share * len(chars))):
            chars[position] = rng.choice(kanji)
        return "".join(chars)

    versions = {"o": originals, "c": [perturbed(text, 0.01) for text in originals]}
    versions["f"] = [perturbed(text, 0.1) for text in originals]
    return [consultation(f"{kind}{i:02d}", question="質問", answer_text=text) for kind, texts in versions.items() for i, text in enumerate(texts)]


def test_perturbed_copies_are_found_and_the_estimate_tracks_the_exact_jaccard(tmp_path):
    pages = perturbed_copies()
    result = nd.update_index(tmp_path, keyed_table(pages))
    cluster = dict(zip(result.table["page_id"].to_pylist(), result.table["dup_cluster"].to_pylist()))
    for i in range(20):
        assert cluster[f"o{i:02d}"] == cluster[f"c{i:02d}"] == f"c{i:02d}" and cluster[f"f{i:02d}"] == f"f{i:02d}"
    assert nd.duplicate_summary(result.table)["clusters"] == 20

    config = nd.DuplicateConfig()
    keys = {row["page_id"]: matching_key(row["question"] + row["answer"]) for row in pages}
    errors = []
    for i in range(20):
        for kind in ("c", "f"):
            a, b = keys[f"o{i:02d}"], keys[f"{kind}{i:02d}"]
            errors.append(estimated_jaccard(a, b, config) - jaccard(a, b))
    assert abs(np.mean(errors)) < 0.02 and max(map(abs, errors)) < 0.15  # the standard error is about 0.04


def jaccard(a: str, b: str, n: int = 5) -> float:
    """The exact Jaccard of two keys' character n-gram sets, what the signatures estimate."""
    grams_a, grams_b = ({key[i : i + n] for i in range(len(key) - n + 1)} for key in (a, b))
    return len(grams_a & grams_b) / len(grams_a | grams_b)


def test_empty_table(tmp_path):
    result = nd.update_index(tmp_path, keyed_table([]))
    assert result.table.num_rows == 0 and result.table.schema.equals(NEAR_DUPLICATES)
    assert isinstance(result.table, pa.Table)


def indexed_pairs(index_dir) -> dict[tuple[str, str], int]:
    """(page_id, page_id) -> bins shared, for every pair the index holds."""
    generation = json.loads((index_dir / nd.MANIFEST_FILE).read_text(encoding="utf-8"))["generation"]
    ids = pq.read_table(index_dir / f"pages.{generation}.parquet")["page_id"].to_pylist()
    pairs = np.load(index_dir / f"pairs.{generation}.npy").tolist()
    return {tuple(sorted((ids[a], ids[b]))): shared for a, b, shared in pairs}


def test_an_index_built_batch_by_batch_equals_one_built_at_once(tmp_path):
    pages = perturbed_copies(seed=11, n=10) + [page(f"p{i:02d}", who) for i, who in enumerate("ABCDEF")]  # one cluster of 6
    random.Random(3).shuffle(pages)
    for batch in (pages[:12], pages[12:25], pages):
        nd.update_index(tmp_path / "steps", keyed_table(batch))
    by_id = {row["page_id"]: row for row in pages}
    final = [row for row in pages if row["page_id"] not in ("c03", "p02")]
    # c03 now copies o07 (it leaves o03 and joins o07), p02 leaves the big cluster.
    final += [consultation("c03", question="質問", answer_text=by_id["o07"]["answer"]), consultation("p02", question="相続", answer_text=OTHER_ANSWER)]
    stepwise = nd.update_index(tmp_path / "steps", keyed_table(final))
    at_once = nd.update_index(tmp_path / "once", keyed_table(final))
    assert stepwise.inserted == ("c03", "p02") and stepwise.n_indexed == at_once.n_indexed == len(pages)
    assert stepwise.table.equals(at_once.table)
    assert indexed_pairs(tmp_path / "steps") == indexed_pairs(tmp_path / "once")
    cluster = dict(zip(at_once.table["page_id"].to_pylist(), at_once.table["dup_cluster"].to_pylist()))
    assert cluster["c03"] == cluster["o07"] == "c03" and cluster["o03"] == "o03"
    assert {cluster[f"p{i:02d}"] for i in range(6) if i != 2} == {"p00"} and cluster["p02"] == "p02"


def signatures_with_known_pairs(config: nd.DuplicateConfig) -> np.ndarray:
    """Random signatures and variants of them with some bins changed: pairs above and below the threshold,
    sharing a band or not."""
    rng = np.random.default_rng(4)
    bands, rows = nd._bands(config.threshold, config.num_perm, config.lsh_weights)
    found = []
    for base in rng.integers(0, 2**32, (6, config.num_perm), dtype=np.uint32):
        found.append(base)
        for changed in (0, 4, 12, 20, 24, 24, 30, 40):
            variant = base.copy()
            variant[rng.choice(config.num_perm, changed, replace=False)] += 1
            found.append(variant)
        every_band = base.copy()
        every_band[np.arange(bands) * rows] += 1  # 112 of 128 bins still equal, but no band
        found.append(every_band)
    return np.array(found)


def pairs_by_brute_force(signatures: np.ndarray, config: nd.DuplicateConfig) -> tuple[set, set]:
    """(the pairs datasketch's LSH finds and the threshold keeps: sharing a band, estimate at least the
    threshold; the pairs at least at the threshold that share no band)."""
    bands, rows = nd._bands(config.threshold, config.num_perm, config.lsh_weights)
    found, missed = set(), set()
    for a in range(len(signatures)):
        for b in range(a + 1, len(signatures)):
            equal = signatures[a] == signatures[b]
            if equal.sum() / config.num_perm >= config.threshold:
                in_a_band = equal[: bands * rows].reshape(bands, rows).all(axis=1).any()
                (found if in_a_band else missed).add((a, b, int(equal.sum())))
    return found, missed


def test_banding_finds_exactly_the_pairs_that_share_a_band_and_reach_the_threshold(monkeypatch):
    config = nd.DuplicateConfig()
    signatures = signatures_with_known_pairs(config)
    expected, missed = pairs_by_brute_force(signatures, config)
    assert len(expected) > 20 and missed  # both kinds are there
    assert sorted(map(tuple, nd._similar_pairs(signatures, 0, config).tolist())) == sorted(expected)  # each once
    # Pages from row 25 on are new: their pairs with the indexed ones and with each other.
    with_new = sorted(pair for pair in expected if pair[1] >= 25)
    assert sorted(map(tuple, nd._similar_pairs(signatures, 25, config).tolist())) == with_new
    # Band keys that collide (all equal here) make more candidates, not more pairs.
    monkeypatch.setattr(nd, "_band_keys", lambda signatures, bands, rows: np.zeros((bands, len(signatures)), np.uint64))
    assert sorted(map(tuple, nd._similar_pairs(signatures, 25, config).tolist())) == with_new


@pytest.mark.parametrize(
    ("threshold", "num_perm", "weights", "bands"),
    [  # what datasketch 2.0.0's MinHashLSH chose (datasketch.lsh._optimal_param)
        (0.8, 128, (0.05, 0.95), (16, 8)),
        (0.8, 128, (0.5, 0.5), (9, 13)),
        (0.5, 128, (0.05, 0.95), (26, 3)),
        (0.9, 128, (0.05, 0.95), (9, 14)),
        (0.7, 64, (0.05, 0.95), (12, 5)),
        (0.8, 256, (0.05, 0.95), (25, 10)),
        (0.6, 32, (0.5, 0.5), (6, 5)),
    ],
)
def test_bands_are_the_ones_datasketch_chose(threshold, num_perm, weights, bands):
    assert nd._bands(threshold, num_perm, weights) == bands


def components_by_search(n: int, edges: list[tuple[int, int]]) -> list[int]:
    neighbours = {node: set() for node in range(n)}
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    smallest = list(range(n))
    for start in range(n):
        seen, todo = {start}, [start]
        while todo:
            for other in neighbours[todo.pop()] - seen:
                seen.add(other)
                todo.append(other)
        smallest[start] = min(seen)
    return smallest


@pytest.mark.parametrize("seed", range(5))
def test_components_are_named_by_their_smallest_node(seed):
    rng = random.Random(seed)
    n = 300
    edges = [(rng.randrange(n), rng.randrange(n)) for _ in range(rng.choice([50, 150, 250]))]
    edges += [(n - 1 - i, n - 2 - i) for i in range(40)]  # a long chain, numbered downwards
    a, b = np.array(edges).T
    assert nd._components(n, a, b).tolist() == components_by_search(n, edges)


def test_an_index_of_an_older_format_is_rebuilt(tmp_path, caplog):
    (tmp_path / "index.pkl").write_bytes(b"format 2 pickled the whole index")
    (tmp_path / nd.MANIFEST_FILE).write_text(json.dumps({"config": {}, "pages": {"h0000000000000001": "0"}}), encoding="utf-8")
    pages = keyed_table([page("h0000000000000001", "A"), page("h0000000000000002", "B")])
    result = nd.update_index(tmp_path, pages)
    assert f"format None with {{}}, not {nd._FORMAT} with" in caplog.text and "rebuilding the index" in caplog.text
    assert result.inserted == ("h0000000000000001", "h0000000000000002")
    assert result.table["dup_cluster_size"].to_pylist() == [2, 2]
    assert sorted(files_of(tmp_path)) == ["manifest.json", "pages.1.parquet", "pairs.1.npy", "signatures.1.npy"]


def flip_a_byte(path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def unreadable_manifest(index_dir) -> None:
    (index_dir / nd.MANIFEST_FILE).write_bytes(b'{"format": 4, "generat')


def wrong_width_signatures(index_dir) -> None:
    """A file that reads, with the CRC-32 the manifest holds of it, but does not fit the pages it belongs to."""
    manifest = json.loads((index_dir / nd.MANIFEST_FILE).read_text(encoding="utf-8"))
    path = index_dir / "signatures.1.npy"
    np.save(path, np.load(path)[:, :-1])
    manifest["crc32"]["signatures"] = zlib.crc32(path.read_bytes())
    (index_dir / nd.MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")


@pytest.mark.parametrize(
    "damage, reason",
    [
        (lambda index_dir: flip_a_byte(index_dir / "pages.1.parquet"), "pages.1.parquet is not the file that was written"),
        (lambda index_dir: flip_a_byte(index_dir / "signatures.1.npy"), "signatures.1.npy is not the file that was written"),
        (lambda index_dir: flip_a_byte(index_dir / "pairs.1.npy"), "pairs.1.npy is not the file that was written"),
        (lambda index_dir: (index_dir / "pairs.1.npy").unlink(), "No such file"),
        (unreadable_manifest, "manifest.json does not read"),
        (lambda index_dir: (index_dir / nd.MANIFEST_FILE).write_text("[]"), "a JSON list, not an object"),
        (wrong_width_signatures, "signatures uint32 (3, 127)"),
    ],
)
def test_a_damaged_index_is_rebuilt_with_the_reason_logged(tmp_path, caplog, damage, reason):
    """The index is derived data: a file of it damaged on disk failed the near_duplicates step (a signature's
    flipped bits went unseen) until the index folder was removed by hand."""
    pages = keyed_table([page("h0000000000000001", "A"), page("h0000000000000002", "B"), page("h0000000000000003", text=OTHER_ANSWER)])
    nd.update_index(tmp_path, pages)
    damage(tmp_path)

    rebuilt = nd.update_index(tmp_path, pages)

    assert reason in caplog.text and "rebuilding" in caplog.text
    assert sorted(rebuilt.inserted) == ["h0000000000000001", "h0000000000000002", "h0000000000000003"]
    assert rebuilt.table.equals(nd.update_index(tmp_path / "fresh", pages).table)
    caplog.clear()
    assert nd.update_index(tmp_path, pages).inserted == () and not caplog.text  # saved whole again


def test_a_save_that_fails_leaves_the_previous_index_whole(tmp_path, monkeypatch):
    first = [page("h0000000000000001", "A"), page("h0000000000000003", text=OTHER_ANSWER)]
    nd.update_index(tmp_path, keyed_table(first))
    before = files_of(tmp_path)

    def crash(path, data):
        raise OSError("disk full")

    monkeypatch.setattr(nd, "_write_atomically", crash)  # the new files are written, the manifest is not
    with pytest.raises(OSError, match="disk full"):
        nd.update_index(tmp_path, keyed_table([*first, page("h0000000000000002", "B")]))
    monkeypatch.undo()
    assert {name: files_of(tmp_path)[name] for name in before} == before
    assert indexed_pages(tmp_path).keys() == {"h0000000000000001", "h0000000000000003"}
    again = nd.update_index(tmp_path, keyed_table([*first, page("h0000000000000002", "B")]))
    assert again.inserted == ("h0000000000000002",)
    assert again.table["dup_cluster"].to_pylist() == ["h0000000000000001", "h0000000000000001", "h0000000000000003"]
    assert sorted(files_of(tmp_path)) == ["manifest.json", "pages.2.parquet", "pairs.2.npy", "signatures.2.npy"]


def test_rows_are_read_from_every_chunk_of_the_table(monkeypatch):
    table = keyed_table(perturbed_copies(n=5))  # 15 pages
    batches = table.to_batches(max_chunksize=4)
    chunked = pa.Table.from_batches([batches[0], batches[0].slice(0, 0), *batches[1:]])  # an empty chunk too
    assert chunked.column("answer_key").num_chunks == 5
    monkeypatch.setattr(nd, "_CHUNK", 3)  # chunks of rows that straddle the table's chunks
    rows = np.array([14, 0, 5, 3, 4, 8, 7, 11, 12, 1])
    config = nd.DuplicateConfig()
    expected = nd.signatures(nd._matching_keys(table.take(pa.array(rows))), config)
    assert (nd._signatures(nd.rows_of(chunked), rows, config) == expected).all()


def _read_part(path: str, columns: list[str]) -> pa.Table:
    return pq.read_table(path, columns=columns)


def test_pages_hashed_in_worker_processes_get_the_signatures_hashed_here(tmp_path, monkeypatch):
    """With texts stored on this machine, many pages are hashed in worker processes (a run of rows each, read
    from the parts): the same signature for every row, in the order the rows were asked for."""
    table = keyed_table(perturbed_copies(n=6))  # 18 pages, in three parts of up to 7
    parts = {}
    for number, start in enumerate(range(0, table.num_rows, 7)):
        path = tmp_path / f"b{number}.parquet"
        pq.write_table(table.slice(start, 7), path)
        read = functools.partial(_read_part, str(path))
        parts[f"b{number}"] = StoredPart(key="", memo={}, rows=pq.read_metadata(path).num_rows, read=read, local=True)
    rows = np.array([17, 3, 9, 0, 12, 5, 16, 1, 8, 14, 2, 11])
    monkeypatch.setattr(workers, "PARALLEL_MIN_PAGES", 0)
    asked, in_order = [], workers.in_order  # (parallel, runs) of each call
    monkeypatch.setattr(workers, "in_order", lambda work, items, **kwargs: asked.append((kwargs["parallel"], len(items))) or in_order(work, items, **kwargs))
    config = nd.DuplicateConfig()
    texts = PartRows(parts, nd.TEXT_COLUMNS).take
    expected = nd.signatures(nd._matching_keys(table.take(pa.array(rows))), config)
    assert (nd._signatures(texts, rows, config) == expected).all()
    assert (nd._signatures(texts, rows, config, parallel=True) == expected).all()
    assert asked == [(False, 1), (True, workers.cores())]
