"""Pure stage logic of the webtext DAG: records, shard IO and one sub-package per stage."""
