"""Files of the bad-input corpus that are binary or too large to commit: each function writes one.

A case in cases.yaml names them under ``generate:`` (file name → function name). Every function
takes the path to write and nothing else, so a case stays reproducible from the manifest alone.
"""

from __future__ import annotations

import builtins
from pathlib import Path

GOOD_HEADER = "group,label,pred"


def good_rows(n_per_group: int = 40) -> list[str]:
    """Two groups with the same confusion counts: every four-fifths rule passes."""
    return [f"{g},{int(i % 2 == 0)},{int(i % 4 < 2)}" for g in ("a", "b") for i in range(n_per_group)]


def good_csv(path: Path) -> None:
    path.write_text("\n".join([GOOD_HEADER, *good_rows()]) + "\n", encoding="utf-8")


def bom_csv(path: Path) -> None:
    """A UTF-8 byte-order mark (Excel writes one): legitimate, must be accepted."""
    path.write_bytes(b"\xef\xbb\xbf" + ("\n".join([GOOD_HEADER, *good_rows()]) + "\n").encode())


def bom_crlf_csv(path: Path) -> None:
    path.write_bytes(b"\xef\xbb\xbf" + ("\r\n".join([GOOD_HEADER, *good_rows()]) + "\r\n").encode())


def latin1_row_csv(path: Path) -> None:
    """Valid UTF-8 header, then a group name in Latin-1 (0xe9 = é)."""
    rows = [GOOD_HEADER, *good_rows()]
    path.write_bytes("\n".join(rows).encode() + b"\nZ\xe9lie,1,1\n")


def latin1_header_csv(path: Path) -> None:
    path.write_bytes(b"gr\xe9oupe,label,pred\n" + "\n".join(good_rows()).encode() + b"\n")


def utf16_csv(path: Path) -> None:
    path.write_bytes(("\n".join([GOOD_HEADER, *good_rows()]) + "\n").encode("utf-16"))


def nul_bytes_csv(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 4)


def not_gzip_csv_gz(path: Path) -> None:
    good_csv(path)  # plain text under a .csv.gz name


def truncated_gzip(path: Path) -> None:
    import gzip

    payload = gzip.compress(("\n".join([GOOD_HEADER, *good_rows(400)]) + "\n").encode())
    path.write_bytes(payload[: len(payload) // 2])


def _good_frame():  # type: ignore[no-untyped-def]
    import pandas as pd

    return pd.DataFrame([r.split(",") for r in good_rows()], columns=GOOD_HEADER.split(",")).astype(
        {"label": int, "pred": int}
    )


def good_parquet(path: Path) -> None:
    _good_frame().to_parquet(path, index=False)


def truncated_parquet(path: Path) -> None:
    good_parquet(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def parquet_without_footer(path: Path) -> None:
    good_parquet(path)
    data = path.read_bytes()
    path.write_bytes(data[:-8])  # the footer length and the closing magic are gone


def duplicated_columns_parquet(path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = _good_frame()
    table = pa.Table.from_arrays(
        [pa.array(frame["group"]), pa.array(frame["label"]), pa.array(frame["pred"]), pa.array(1 - frame["label"])],
        names=["group", "label", "pred", "label"],
    )
    pq.write_table(table, path)


def parquet_all_null_label(path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = _good_frame()
    table = pa.table(
        {
            "group": pa.array(frame["group"]),
            "label": pa.nulls(len(frame), pa.float64()),
            "pred": pa.array(frame["pred"]),
        }
    )
    pq.write_table(table, path)


def id_as_sensitive_csv(path: Path) -> None:
    """100,000 rows with a distinct 'group' each: an identifier passed as a sensitive feature."""
    lines = [GOOD_HEADER] + [f"c{i:06d},{i % 2},{(i // 2) % 2}" for i in range(100_000)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def features_csv(path: Path) -> None:
    """x (numeric feature), group, label: for the model cases."""
    lines = ["x,group,label"] + [f"{i % 7},{'ab'[i % 2]},{int(i % 3 == 0)}" for i in range(80)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _fit_logistic():  # type: ignore[no-untyped-def]
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    frame = pd.DataFrame({"x": [float(i % 7) for i in range(80)], "label": [int(i % 3 == 0) for i in range(80)]})
    return LogisticRegression().fit(frame[["x"]], frame["label"])


def skops_untrusted_function(path: Path) -> None:
    """A pipeline that would call builtins.eval: skops reports it, Fairgate's allow-list refuses it."""
    import skops.io
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    model = Pipeline([("f", FunctionTransformer(builtins.eval)), ("clf", _fit_logistic())])
    skops.io.dump(model, path)


def skops_corrupt(path: Path) -> None:
    import skops.io

    skops.io.dump(_fit_logistic(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def pickle_model(path: Path) -> None:
    import pickle

    path.write_bytes(pickle.dumps(_fit_logistic()))


def text_as_onnx(path: Path) -> None:
    path.write_bytes(b"this is not an ONNX model, it is text\n" * 3)


def onnx_wrong_count(path: Path) -> None:
    """A valid ONNX graph that ignores its input and always returns three labels."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    const = helper.make_node("Constant", [], ["label"], value=numpy_helper.from_array(np.array([1, 0, 1], np.int64)))
    graph = helper.make_graph(
        [const],
        "three",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1])],
        [helper.make_tensor_value_info("label", TensorProto.INT64, [3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)


def dev_key_right_passphrase(path: Path) -> None:
    from audit.signing.keys import generate_dev_key

    generate_dev_key(path, passphrase=b"the right one")


def garbage_key(path: Path) -> None:
    path.write_bytes(b"\x30\x82\x01\x00not a pkcs12 structure" * 4)


def regular_file(path: Path) -> None:
    path.write_text("I am a file, so nothing can be created under me\n", encoding="utf-8")


def link_to_dev_zero(path: Path) -> None:
    """A CSV name that is really an endless device."""
    path.symlink_to("/dev/zero")


_POLICY_HEAD = 'fairgate: 1\nid: p\nversion: "1"\ntitle: t\n'


def policy_nested_20000_lists(path: Path) -> None:
    """A valid policy plus one value nested 20,000 lists deep (Python's recursion limit is 1,000)."""
    path.write_text(
        _POLICY_HEAD
        + "rules: [{id: r, title: r, metric: selection_rate, min_value: 0.8}]\n"
        + "note: "
        + "[" * 20_000
        + "]" * 20_000
        + "\n",
        encoding="utf-8",
    )


def policy_nested_20000_mappings(path: Path) -> None:
    path.write_text(
        _POLICY_HEAD
        + "rules: [{id: r, title: r, metric: selection_rate, min_value: 0.8}]\n"
        + "note: "
        + "{a: " * 20_000
        + "1"
        + "}" * 20_000
        + "\n",
        encoding="utf-8",
    )


def policy_int_5001_digits(path: Path) -> None:
    """An integer longer than Python's int-from-text limit (4,300 digits)."""
    path.write_text(
        _POLICY_HEAD + "rules: [{id: r, title: r, metric: selection_rate, min_value: " + "9" * 5001 + "}]\n",
        encoding="utf-8",
    )


def results_nested_20000(path: Path) -> None:
    """A 'results.json' nested 20,000 arrays deep: valid JSON that Python's parser cannot recurse into."""
    path.write_text("[" * 20_000 + "]" * 20_000, encoding="utf-8")


def ledger(path: Path) -> None:
    """An empty, valid audit ledger (a case may hold a lock on it)."""
    from audit.signing.ledger import Ledger

    Ledger(path).ensure_writable()


def logistic_skops(path: Path) -> None:
    """A plain 0/1 logistic regression on ``x``, saved with skops."""
    import skops.io

    skops.io.dump(_fit_logistic(), path)


def forget_mlflow_stores() -> None:
    """Each corpus case runs in-process but must behave as a fresh `fairgate` process does. MLflow caches its
    stores by URI string for the life of the process, so a relative `file:mlruns` resolved in an earlier
    case's (since deleted) directory would answer this one ("'mlruns' does not exist"). Forget them."""
    import sys

    for module, owner in (
        ("mlflow.tracking._tracking_service.registry", "TrackingStoreRegistry"),
        ("mlflow.tracking._model_registry.registry", "ModelRegistryStoreRegistry"),
    ):
        cached = getattr(getattr(sys.modules.get(module), owner, None), "_get_store_with_resolved_uri", None)
        if cached is not None and hasattr(cached, "cache_clear"):
            cached.cache_clear()
