"""The two SQL engines the finance pipeline runs on.

An engine knows only three things: load the canonical CSV as table ``tx``, materialise a
named table from a SELECT, and fetch rows. The pipeline (``detectors.py``) is written once
in the SQL both DuckDB and Spark SQL accept; amounts stay DECIMAL(38, 8) end to end.
"""

from __future__ import annotations

import os
from decimal import Decimal
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from ..exc import ConfigError

TX_SCHEMA = (
    ("seq", "BIGINT"),
    ("tx_id", "STRING"),
    ("src", "STRING"),
    ("dst", "STRING"),
    ("src_bank", "STRING"),
    ("dst_bank", "STRING"),
    ("amount", "DECIMAL(38,8)"),
    ("currency", "STRING"),
    ("amount_received", "DECIMAL(38,8)"),
    ("currency_received", "STRING"),
    ("ts", "BIGINT"),
    ("payment_format", "STRING"),
    ("label", "STRING"),
)


class Engine(ABC):
    name: str = ""
    version: str = ""

    @abstractmethod
    def load_transactions(self, csv_path: Path) -> None: ...

    @abstractmethod
    def create(self, name: str, select_sql: str, materialize: bool = False) -> None:
        """Make ``name`` the result of ``select_sql``; ``materialize`` marks tables that are
        read many times or fed back in a loop (an engine may otherwise keep a lazy view)."""

    @abstractmethod
    def fetch(self, select_sql: str) -> list[tuple[Any, ...]]: ...

    def count(self, name: str) -> int:
        return int(self.fetch(f"SELECT count(*) FROM {name}")[0][0])

    def close(self) -> None:
        pass


class DuckDBEngine(Engine):
    name = "duckdb"

    def __init__(self, threads: int | None = None, database: str = ":memory:") -> None:
        import duckdb

        self.version = duckdb.__version__
        self.con = duckdb.connect(database)
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")

    def load_transactions(self, csv_path: Path) -> None:
        cols = ", ".join(f"'{c}': '{'VARCHAR' if t == 'STRING' else t}'" for c, t in TX_SCHEMA)
        path = str(csv_path).replace("'", "''")
        # all_varchar-free explicit schema: the same types Spark is given
        self.con.execute(
            f"CREATE OR REPLACE TABLE tx AS SELECT * FROM read_csv('{path}', header=true, "
            f"columns={{{cols}}}, quote='\"', escape='\"', nullstr='\\N')"
        )
        # empty text means "unknown" in the canonical CSV; both engines see '' not NULL
        self.con.execute(
            "UPDATE tx SET label = coalesce(label, ''), currency = coalesce(currency, ''), "
            "currency_received = coalesce(currency_received, ''), src_bank = coalesce(src_bank, ''), "
            "dst_bank = coalesce(dst_bank, ''), payment_format = coalesce(payment_format, '')"
        )

    def create(self, name: str, select_sql: str, materialize: bool = False) -> None:
        self.con.execute(f"CREATE OR REPLACE TABLE {name} AS {select_sql}")

    def fetch(self, select_sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(select_sql).fetchall()

    def close(self) -> None:
        self.con.close()


class SparkEngine(Engine):
    """PySpark: local mode by default, a cluster when ``master`` says so."""

    name = "spark"

    def __init__(self, master: str | None = None, conf: dict[str, str] | None = None) -> None:
        try:
            import pyspark
            from pyspark.sql import SparkSession
        except ImportError:
            raise ConfigError("the Spark engine needs PySpark: install grotius[spark]") from None
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("PYSPARK_PYTHON", os.environ.get("PYSPARK_PYTHON", "python3"))
        self.version = pyspark.__version__
        master = master or os.environ.get("GROTIUS_SPARK_MASTER", "local[2]")
        builder = (
            SparkSession.builder.master(master)
            .appName("grotius-finance")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.sql.ansi.enabled", "true")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.showConsoleProgress", "false")
        )
        for k, v in (conf or {}).items():
            builder = builder.config(k, v)
        try:
            self.spark = builder.getOrCreate()
        except Exception as e:  # Java missing or not startable: say so plainly
            raise ConfigError(f"cannot start Spark ({master}): {e}") from None
        self.spark.sparkContext.setLogLevel("ERROR")
        self._frames: dict[str, Any] = {}

    def load_transactions(self, csv_path: Path) -> None:
        schema = ", ".join(f"{c} {t}" for c, t in TX_SCHEMA)
        df = (
            self.spark.read.option("header", "true")
            .option("quote", '"')
            .option("escape", '"')
            .option("nullValue", "\\N")
            .option("emptyValue", "")
            .schema(schema)
            .csv(str(csv_path))
        )
        df = df.fillna("", subset=["label", "currency", "currency_received", "src_bank", "dst_bank", "payment_format"])
        self._register("tx", df)

    def _register(self, name: str, df: Any, materialize: bool = True) -> None:
        if materialize:
            # computed once and the lineage cut, so loops do not recompute their history
            df = df.localCheckpoint(eager=True)
            self._frames[name] = df
        # a view holds its resolved plan: replacing a name that it reads is safe
        df.createOrReplaceTempView(name)

    def create(self, name: str, select_sql: str, materialize: bool = False) -> None:
        self._register(name, self.spark.sql(select_sql), materialize)

    def fetch(self, select_sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.spark.sql(select_sql).collect()]

    def close(self) -> None:
        for df in self._frames.values():
            df.unpersist()
        self._frames.clear()


def open_engine(name: str, **kwargs: Any) -> Engine:
    if name == "duckdb":
        return DuckDBEngine(**kwargs)
    if name == "spark":
        return SparkEngine(**kwargs)
    raise ConfigError(f"unknown engine {name!r}; expected duckdb or spark")


def as_decimal(v: Any) -> Decimal:
    return v if isinstance(v, Decimal) else Decimal(str(v))
