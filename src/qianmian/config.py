"""Settings, read from the environment (prefix ``QIANMIAN_``) or a TOML file.

Every setting has a default that works for the demo; `config.example.toml` documents each one.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from qianmian.errors import ConfigError

if TYPE_CHECKING:
    from qianmian.store.spark import SparkOptions


def store_models_dir(data_dir: Path, store_id: str) -> Path:
    """`<data_dir>/models/<store id>`: each store's trained models apart (`Store.id`)."""
    return Path(data_dir) / "models" / store_id


class Settings(BaseSettings):
    """Process-wide settings. Construct explicitly; nothing reads them at import time."""

    model_config = SettingsConfigDict(env_prefix="QIANMIAN_", extra="forbid")

    store: str = Field("duckdb:///var/qianmian.duckdb", description="Store URL: duckdb:///path, spark:local[2], spark://host:port, sc://host:port")
    data_dir: Path = Field(Path("var"), description="Where models (<data_dir>/models/<store id>), the write-ahead log and keys live")
    spark_warehouse: Path | None = Field(None, description="Folder of a spark:local store's Hive catalog and warehouse; <data_dir>/spark when unset")
    spark_driver_memory: str = Field("2g", description="Driver heap of spark:local / spark:// stores (spark.driver.memory)")
    spark_shuffle_partitions: int = Field(4, ge=1, description="spark.sql.shuffle.partitions of the stores Qianmian starts")
    spark_log_level: Literal["OFF", "FATAL", "ERROR", "WARN", "INFO", "DEBUG"] = Field("ERROR", description="Spark's own log level (its logs go to stderr)")
    spark_conf: dict[str, str] = Field(default_factory=dict, description="Extra spark.* settings, e.g. QIANMIAN_SPARK_CONF='{\"spark.executor.memory\": \"4g\"}'")
    host: str = "127.0.0.1"
    port: int = 8000
    auth: bool = Field(False, description="Require API keys on /v1 (the demo runs open on loopback)")
    max_request_bytes: int = 2_000_000
    rate_limit_per_minute: int = 60_000
    experiences_file: Path | None = Field(None, description="Storefront TOML: experiences per audience, guide questions, labels")
    currency: str = Field("CNY", description="Money unit printed with every amount (CLI, charts): e.g. CNY, GBP, USD")
    timezone: str = Field("Asia/Shanghai", description="Business time zone: event times with an offset (or unix seconds) become wall-clock time here")
    wal_segment_bytes: int = Field(64 << 20, description="Write-ahead log segment size before a new file starts")
    writer_batch_rows: int = Field(5_000, description="The store writer appends once this many rows are waiting …")
    writer_interval_seconds: float = Field(1.0, description="… or once the oldest waiting row is this old")
    cache_refresh_seconds: float = Field(30.0, description="How often caches (keys, experiences, profiles, audiences) reload from the store")
    plausible_from: dt.datetime | None = Field(None, description="Events before this time are refused (files: quarantined; HTTP: 422); default 2000-01-01")
    plausible_until: dt.datetime | None = Field(None, description="Events at or after this time are refused; default now + 1 day")
    storefront_experiment: str | None = Field(None, description="Experiment whose variant each storefront request is assigned to (control = default page)")
    srm_threshold: float = Field(0.001, gt=0, lt=1, description="Experiment reports flag a sample-ratio mismatch when the split's chi-square p-value is below this")

    def models_dir(self, store_id: str) -> Path:
        """Where the models trained on the store `store_id` live unless told otherwise."""
        return store_models_dir(self.data_dir, store_id)

    def spark_options(self) -> SparkOptions:
        """How stores on Spark URLs start or join Spark (see `qianmian.store.spark`)."""
        from qianmian.store.spark import SparkOptions

        return SparkOptions(folder=self.spark_warehouse or self.data_dir / "spark", driver_memory=self.spark_driver_memory,
                            shuffle_partitions=self.spark_shuffle_partitions, log_level=self.spark_log_level,
                            conf=dict(self.spark_conf))

    @classmethod
    def from_toml(cls, path: Path | str, **overrides: Any) -> Settings:
        """Read settings from a TOML file (top-level keys = field names); overrides win."""
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file: expected an existing TOML file, received {str(p)!r}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {str(p)!r}: invalid TOML ({exc})") from exc
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**data)
