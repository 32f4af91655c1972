"""``mam download NAME``: fetch a published checkpoint (or a Hugging Face model repository) into the cache folder."""
from __future__ import annotations


def register(subparsers) -> None:
    from ..inference.weights import REGISTRY

    p = subparsers.add_parser("download", help="download published weights into the cache folder",
                              description="Download a checkpoint with a progress bar, resume and SHA-256 check; "
                                          "grounding-dino-tiny/-base (text prompts) are Hugging Face repositories, "
                                          "fetched into a folder of the cache with huggingface_hub (the 'text' extra).")
    p.add_argument("name", nargs="?", choices=sorted(REGISTRY), help="weight file to fetch")
    p.add_argument("--list", action="store_true", help="list the known files and where they are")
    p.add_argument("--dir", default=None, help="folder to download into (default: the cache folder)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..errors import MamError
    from ..inference.weights import REGISTRY, cache_dir, download, find_checkpoint

    if args.list or args.name is None:
        print(f"cache folder: {cache_dir()}")
        for name, entry in REGISTRY.items():
            found = find_checkpoint(name, args.dir)
            state = f"present at {found}" if found else (
                "not present" + ("" if entry.url or entry.is_folder else " (fetch by hand)"))
            print(f"  {name:10s} {entry.filename:24s} {state}  — {entry.note}")
        if args.name is None and not args.list:
            raise MamError("name a file to download, e.g. `mam download sam_vit_b` (see the list above)")
        return 0
    path = download(args.name, args.dir)
    print(f"ok: {path}")
    return 0
