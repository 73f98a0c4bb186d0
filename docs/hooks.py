"""MkDocs hook: the figures the pages show live beside the results they belong to (benchmarks/results/,
saved_models/*/), outside docs/. This adds them to the build under their repository paths and points the pages'
links to them (written relative to the page's file, e.g. `../benchmarks/results/x.png` from docs/speed.md, so that
they also work when the markdown is read on its own) at those copies. The changelog page is CHANGELOG.md."""

import posixpath
import re
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
SHARED = ("benchmarks/results", "saved_models")
LINK = re.compile(r"(\]\()([^)\s]+)(\))")


def on_files(files, config):
    for top in SHARED:
        for path in sorted((ROOT / top).rglob("*.png")):
            files.append(File(path.relative_to(ROOT).as_posix(), src_dir=str(ROOT), dest_dir=config["site_dir"],
                              use_directory_urls=config["use_directory_urls"]))
    files.append(File.generated(config, "changelog.md", abs_src_path=str(ROOT / "CHANGELOG.md")))
    return files


def on_page_markdown(markdown, page, config, files):
    page_dir = posixpath.dirname(page.file.src_uri)

    def repoint(match):
        target = match[2]
        if "://" in target or target.startswith(("#", "/", "mailto:")):
            return match[0]
        in_repo = posixpath.normpath(posixpath.join("docs", page_dir, target))
        if not in_repo.startswith(SHARED):
            return match[0]
        return match[1] + posixpath.relpath(in_repo, page_dir or ".") + match[3]

    return LINK.sub(repoint, markdown)
