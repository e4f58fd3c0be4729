"""The `verify_storage` job: `python -m pipeline build --verify` for the UI and the daemon.

A build reads only the footers of the files it keeps, so a file damaged inside since it was written (a disk, a
copy) is found when something reads it, and fails that step naming the file. The job reads every stored file
whole and removes the damaged ones; what removed them then makes them again, as a build does for any file gone:
the sensor ingests again a batch whose ingest file went (`scrape_batches_sensor`, and a corpus run follows each
ingest), and `corpus_after_verify` starts a corpus run when only corpus files went.
"""

import dagster as dg
from upath import UPath

from pipeline.defs.assets import INGEST_DATASETS
from pipeline.defs.io_manager import UnreadableFile, unreadable_files
from pipeline.defs.jobs import CORPUS_RUN_TAG, build_corpus
from pipeline.defs.resources import CorpusLock, CorpusPaths
from pipeline.defs.sensors import corpus_run_after

# Set on a verify_storage run that removed files: "ingest" when some were a batch's ingest files (the sensor
# ingests those batches again, and each ingest starts a corpus run), "corpus" when all were corpus files.
REMOVED_TAG = "pipeline/removed"


def remove_damaged_files(processed: UPath) -> list[UnreadableFile]:
    """Every stored file that does not read whole (`unreadable_files`), the damaged ones removed; the caller holds
    the corpus lock. A file the system does not let be read (no permission, a folder in its place) may be whole:
    it is left as it is."""
    found = unreadable_files(processed)
    for file in found:
        if file.damaged:
            file.path.unlink(missing_ok=True)
    return found


def removed_kind(processed: UPath, removed: list[UnreadableFile]) -> str | None:
    """REMOVED_TAG's value for these removed files; None when there are none."""
    if not removed:
        return None
    ingest_folders = {processed / dataset for dataset in INGEST_DATASETS}
    return "ingest" if any(file.path.parent in ingest_folders for file in removed) else "corpus"


@dg.op(
    out=dg.Out(dg.Nothing),
    description="Read every stored Parquet file whole (its pages' checksums verified) and remove the damaged "
    "ones, to be made again; fails naming any file it may not read at all.",
)
def remove_damaged(context: dg.OpExecutionContext, corpus_lock: CorpusLock, paths: CorpusPaths):
    processed = paths.processed_path
    found = remove_damaged_files(processed)  # under the corpus lock, as a corpus step (its corpus_lock)
    removed, left = [file for file in found if file.damaged], [file for file in found if not file.damaged]
    for file in found:
        context.log.warning(file.report())
    if kind := removed_kind(processed, removed):
        context.instance.add_run_tags(context.run_id, {REMOVED_TAG: kind})  # for corpus_after_verify
    if left:
        raise dg.Failure(
            description=f"{len(left)} stored file(s) could not be read: make them readable or remove them, then "
            "verify again. " + "; ".join(file.report() for file in left),
            metadata={"removed": [str(file.path) for file in removed], "unreadable": [str(file.path) for file in left]},
        )
    context.log.info("every stored file reads whole" if not found else f"{len(removed)} damaged file(s) removed, to be made again")
    yield dg.Output(None, metadata={"removed": dg.MetadataValue.json([str(file.path) for file in removed])})


@dg.job(
    tags={CORPUS_RUN_TAG: "corpus"},  # it writes the corpus folder: queued with the corpus runs on object storage
    description="Find stored files damaged since they were written and remove them, to be made again "
    "(python -m pipeline build --verify). The sensors then ingest the batches again or make the corpus again.",
)
def verify_storage():
    remove_damaged()


def make_corpus_after_verify_sensor() -> dg.RunStatusSensorDefinition:
    return corpus_run_after(
        verify_storage,
        name="corpus_after_verify",
        description="After verify_storage removed corpus files only, rebuild the corpus (when it removed a batch's "
        "ingest files, the scrape sensor ingests the batch again and the corpus follows that ingest).",
        request=_corpus_run_after_verify,
    )


def _corpus_run_after_verify(run: dg.DagsterRun) -> dg.RunRequest | dg.SkipReason:
    if (removed := run.tags.get(REMOVED_TAG)) != "corpus":
        return dg.SkipReason(f"run {run.run_id} removed {'ingest files' if removed else 'nothing'}")
    return dg.RunRequest(run_key=f"after-verify:{run.run_id}", tags={"verify_run": run.run_id})
