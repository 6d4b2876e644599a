"""Checks of the native index structures inside a loaded scikit-learn model.

skops can vouch for an object's *type*, not its *contents*. Decision-tree nodes,
histogram-gradient-boosting predictors and sparse matrices hold index arrays that
scikit-learn's compiled code follows without bounds checks, so a crafted file could crash the
process or read memory outside the model. Fairgate checks them after loading and before any
prediction, and refuses the file on the first problem.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from audit.errors import InputError


def check_native_structures(model: object, path: Path) -> None:
    problem = _native_structure_problem(model)
    if problem:
        raise InputError(
            f"{path}: refusing to use the model: {problem}",
            hint="the file looks damaged or crafted; re-export it from the training code",
        )


def _native_structure_problem(model: object) -> str | None:
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
    from sklearn.tree._tree import Tree

    found: set[int] = set()
    checked: set[int] = set()
    for obj in _walk(model):
        if isinstance(obj, Tree | TreePredictor):
            found.add(id(obj))  # checked through the estimator that owns it
            continue
        problem = _object_problem(obj, checked)
        if problem:
            return f"{type(obj).__name__}: {problem}"
    if found - checked:
        return "it holds tree nodes outside a scikit-learn tree model"
    return None


def _object_problem(obj: object, checked: set[int]) -> str | None:
    from scipy import sparse
    from sklearn.ensemble._gb import BaseGradientBoosting
    from sklearn.ensemble._hist_gradient_boosting.gradient_boosting import (
        BaseHistGradientBoosting,
    )
    from sklearn.tree._tree import Tree

    if sparse.issparse(obj):
        return _sparse_problem(obj)
    if isinstance(obj, BaseHistGradientBoosting):
        return _hist_gradient_boosting_problem(obj, checked)
    attrs = _attrs(obj)
    if isinstance(obj, BaseGradientBoosting) and _stage_shape_problem(attrs):
        return _stage_shape_problem(attrs)
    tree = attrs.get("tree_")
    if isinstance(tree, Tree):
        checked.add(id(tree))
        return _tree_problem(tree, attrs.get("n_features_in_"))
    return _sub_tree_widths_problem(obj)


def _walk(root: object) -> Iterator[object]:
    """Every object reachable from ``root`` through containers and instance attributes."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        yield obj
        stack.extend(_children(obj))


def _children(obj: object) -> list[object]:
    if isinstance(obj, str | bytes | int | float | type | np.generic):
        return []
    if isinstance(obj, dict):
        return [*obj.keys(), *obj.values()]
    if isinstance(obj, list | tuple | set | frozenset):
        return list(obj)
    if isinstance(obj, np.ndarray):
        return list(obj.ravel()) if obj.dtype == object else []
    if isinstance(obj, functools.partial):
        return [obj.func, *obj.args, *obj.keywords.values()]
    return list(_attrs(obj).values())


def _attrs(obj: object) -> dict[str, Any]:
    namespace = getattr(obj, "__dict__", None)
    return namespace if isinstance(namespace, dict) else {}


def _sparse_problem(matrix: Any) -> str | None:
    if matrix.format not in ("csr", "csc"):
        return f"unsupported sparse format {matrix.format!r}"
    try:
        matrix.check_format(full_check=True)
    except ValueError as exc:
        return f"invalid sparse matrix ({' '.join(str(exc).split())[:300]})"
    return None


def _tree_problem(tree: Any, width: object) -> str | None:
    """Decision-tree nodes must point forward inside the tree and at existing features."""
    if not isinstance(width, int | np.integer) or tree.n_features != width:
        return "its tree does not match the number of input features"
    if not 1 <= tree.node_count <= tree.capacity:
        return "its tree's node count does not match its stored nodes"
    left, right, feature = tree.children_left, tree.children_right, tree.feature
    split = left != -1
    return _nodes_problem(split, (left, right), feature=feature, width=int(width))


def _nodes_problem(
    split: np.ndarray,
    children: tuple[np.ndarray, np.ndarray],
    *,
    feature: np.ndarray,
    width: int,
) -> str | None:
    """Children of split nodes must come later in the array (no cycles) and exist."""
    count = len(split)
    index = np.arange(count)
    left, right, feature = (np.asarray(a, dtype=np.int64) for a in (*children, feature))
    bad_child = (left <= index) | (left >= count) | (right <= index) | (right >= count)
    if np.any(split & bad_child):
        return "a tree node points outside the tree"
    if np.any(split & ((feature < 0) | (feature >= width))):
        return "a tree node uses a feature the model does not have"
    return None


def _sub_tree_widths_problem(obj: object) -> str | None:
    """Ensembles call their trees without re-checking the input width; the widths must agree."""
    attrs = _attrs(obj)
    members = attrs.get("estimators_")
    if isinstance(members, np.ndarray):
        members = list(members.ravel())  # GradientBoosting: one tree per stage and class
    if not isinstance(members, list):
        return None
    if not any("tree_" in _attrs(member) for member in members):
        return None
    subsets = attrs.get("estimators_features_")  # bagging: each tree sees a column subset
    for position, member in enumerate(members):
        expected = attrs.get("n_features_in_") if subsets is None else _len_at(subsets, position)
        width = _attrs(member).get("n_features_in_")
        if not isinstance(expected, int | np.integer) or width != expected:
            return "its trees do not match the number of input features"
    return None


def _stage_shape_problem(attrs: dict[str, Any]) -> str | None:
    """GradientBoosting writes tree k of each stage into output column k without bounds checks."""
    stages = attrs.get("estimators_")
    per_stage = attrs.get("n_trees_per_iteration_")
    if not isinstance(stages, np.ndarray) or stages.ndim != 2 or stages.shape[1] != per_stage:
        return "its trees per stage do not match its number of outputs"
    return None


def _len_at(sequence: Any, position: int) -> int | None:
    try:
        return len(sequence[position])
    except (TypeError, IndexError, KeyError):
        return None


def _hist_gradient_boosting_problem(model: Any, checked: set[int]) -> str | None:
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

    attrs = _attrs(model)
    if attrs.get("_in_fit"):
        return "it is marked as still being fitted"
    width = _hist_gradient_boosting_width(attrs)
    if width is None:
        return "its input preprocessing is not the one scikit-learn builds"
    is_categorical = getattr(attrs.get("_bin_mapper"), "is_categorical_", None)
    predictors = attrs.get("_predictors")
    if not isinstance(predictors, list):
        return "its tree predictors are missing"
    for predictor in (p for row in predictors for p in (row if isinstance(row, list) else [row])):
        if not isinstance(predictor, TreePredictor):
            return "it holds something other than tree predictors"
        problem = _predictor_problem(predictor, width, is_categorical=is_categorical)
        if problem:
            return problem
        checked.add(id(predictor))
    return None


def _hist_gradient_boosting_width(attrs: dict[str, Any]) -> int | None:
    """Columns the predictors will see: n_features_in_, if the preprocessing keeps them all.

    With categorical features, scikit-learn puts a ColumnTransformer in front of the trees
    (OrdinalEncoder for categories, check_array for the rest). Any other preprocessing could
    hand the trees fewer columns than their nodes index, so it is refused.
    """
    width = attrs.get("n_features_in_")
    if not isinstance(width, int | np.integer):
        return None
    preprocessor = attrs.get("_preprocessor")
    if preprocessor is None:
        return int(width)
    return int(width) if _keeps_all_columns(preprocessor, int(width)) else None


def _keeps_all_columns(preprocessor: object, width: int) -> bool:
    from sklearn.compose import ColumnTransformer

    if type(preprocessor) is not ColumnTransformer:
        return False
    attrs = _attrs(preprocessor)
    entries = attrs.get("transformers_")
    indices = attrs.get("_transformer_to_input_indices")
    if not isinstance(entries, list) or not isinstance(indices, dict):
        return False
    used = np.zeros(width, dtype=np.int64)
    for entry in entries:
        if not isinstance(entry, tuple) or len(entry) != 3:
            return False
        name, transformer, columns = entry
        mask = np.asarray(columns)
        if mask.dtype != bool or mask.shape != (width,) or name not in indices:
            return False
        if not np.array_equal(np.flatnonzero(mask), np.asarray(indices[name])):
            return False
        if isinstance(transformer, str) and transformer == "drop":
            continue
        if not _keeps_width(transformer):
            return False
        used += mask
    return bool(np.all(used == 1))


def _keeps_width(transformer: object) -> bool:
    """Transformers that output exactly one column per input column."""
    from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder
    from sklearn.utils.validation import check_array

    if isinstance(transformer, str):
        return transformer == "passthrough"
    if type(transformer) is OrdinalEncoder:
        return True
    func = getattr(transformer, "func", None)
    return (
        type(transformer) is FunctionTransformer
        and isinstance(func, functools.partial)
        and func.func is check_array
        and not getattr(transformer, "kw_args", None)
    )


def _predictor_problem(predictor: Any, width: int, *, is_categorical: object) -> str | None:
    from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE

    nodes = _attrs(predictor).get("nodes")
    if not isinstance(nodes, np.ndarray) or nodes.dtype != PREDICTOR_RECORD_DTYPE:
        return "a tree predictor has malformed nodes"
    if nodes.ndim != 1 or len(nodes) == 0:
        return "a tree predictor has malformed nodes"
    split = nodes["is_leaf"] == 0
    children = (nodes["left"], nodes["right"])
    problem = _nodes_problem(split, children, feature=nodes["feature_idx"], width=width)
    if problem:
        return problem
    categorical = split & (nodes["is_categorical"] != 0)
    if not np.any(categorical):
        return None
    bitsets = _attrs(predictor).get("raw_left_cat_bitsets")
    if not isinstance(bitsets, np.ndarray) or bitsets.ndim != 2 or bitsets.shape[1] < 8:
        return "a tree predictor has malformed category sets"
    if np.any(nodes["bitset_idx"][categorical] >= bitsets.shape[0]):
        return "a tree node points outside its category sets"
    features = nodes["feature_idx"][categorical]
    flags = np.asarray(is_categorical) if isinstance(is_categorical, np.ndarray) else None
    if flags is None or flags.ndim != 1 or np.any(features >= len(flags)):
        return "a categorical split uses a feature that is not categorical"
    if not np.all(flags[features]):
        return "a categorical split uses a feature that is not categorical"
    return None
