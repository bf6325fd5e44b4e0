"""Paired datasets: clean photos -> distorted/clean pairs in Parquet shards."""
