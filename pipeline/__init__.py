"""swr-sync-etl: crawl Huawei Cloud SWR image-sync jobs into PostgreSQL."""

__version__ = "0.1.0"
