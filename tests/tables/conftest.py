"""One SparkSession for the whole test session (starting one costs seconds)."""

from __future__ import annotations

import os
import shutil
import sys

import pytest

from tests.conftest import unavailable


@pytest.fixture(scope="session")
def spark():
    if shutil.which("java") is None:
        unavailable("the Spark engine tests need Java 17+ on PATH")
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        unavailable("the Spark engine tests need pyspark (pip install -e '.[test]')")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # Python workers run this interpreter
    session = (
        SparkSession.builder.master("local[1]")
        .appName("fairgate-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", "1g")
        # tiny test queries: compiling generated code and JIT-optimising cost more than they save
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.driver.extraJavaOptions", "-XX:+UseSerialGC -XX:TieredStopAtLevel=1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
