"""Where bytes live: the git repository (the one module that runs git), the
DVC cache and remotes holding artifacts, private clones of URL registries,
atomic files and the lookup memo."""
