"""What the registry's files say: manifests and their schemas, the YAML
reader, names and paths, GTO's tag grammar, references, gates, queries and
the inputs users hand in, each checked on the way in."""
