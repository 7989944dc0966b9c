#!/usr/bin/env python3
"""Run the W3C feed validator (github.com/w3c/feedvalidator, its src/ on
PYTHONPATH) over every RSS and Atom file under a directory, each validated
as served from BASE_URL + its path, at the online validator's level ("AA").
Prints each finding and the totals; exits 1 when there is any error or
warning. Usage: feedvalidator.py DIR BASE_URL"""
import os
import sys
import urllib.parse

import feedvalidator
from feedvalidator import compatibility, logging
from feedvalidator.formatter.text_plain import Formatter


def main():
    root, base = sys.argv[1], sys.argv[2].rstrip("/")
    files = errors = warnings = 0
    for dirpath, _, names in sorted(os.walk(root)):
        for name in sorted(names):
            if not name.endswith((".rss", ".atom")):
                continue
            path = os.path.join(dirpath, name)
            url = base + "/" + urllib.parse.quote(os.path.relpath(path, root).replace(os.sep, "/"))
            ctype = "application/rss+xml; charset=utf-8" if name.endswith(".rss") else "application/atom+xml; charset=utf-8"
            files += 1
            with open(path, "rb") as f:
                try:
                    events = feedvalidator.validateStream(f, firstOccurrenceOnly=1, contentType=ctype, base=url)["loggedEvents"]
                except logging.ValidationFailure as vf:
                    events = [vf.event]
            events = compatibility.AA(events)
            e = [x for x in events if isinstance(x, logging.Error)]
            w = [x for x in events if isinstance(x, logging.Warning)]
            errors += len(e)
            warnings += len(w)
            if e or w:
                print("%s:" % url)
                for line in Formatter(e + w):
                    print("  " + line)
    print("%d documents: %d errors, %d warnings" % (files, errors, warnings))
    sys.exit(1 if errors or warnings else 0)


if __name__ == "__main__":
    main()
