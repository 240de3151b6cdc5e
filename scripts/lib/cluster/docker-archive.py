#!/usr/bin/env python3
"""Writes a docker-archive (docker save format, readable by `ctr images import`) from
uncompressed layer tarballs, so images are built with no Docker daemon and no registry.

usage: docker-archive.py OUT.tar --tag REF --layer L1.tar [--layer L2.tar ...]
       [--entrypoint JSON] [--cmd JSON] [--env K=V ...] [--workdir DIR] [--user U] [--label K=V ...]
"""
import argparse
import hashlib
import json
import os
import shutil
import sys
import tarfile
import tempfile


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def parse_pairs(items, what):
    out = {}
    for item in items or []:
        if "=" not in item:
            sys.exit(f"docker-archive: {what} {item!r} must look like KEY=VALUE")
        key, value = item.split("=", 1)
        out[key] = value
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--tag", required=True)
    p.add_argument("--layer", action="append", required=True)
    p.add_argument("--entrypoint")
    p.add_argument("--cmd")
    p.add_argument("--env", action="append")
    p.add_argument("--workdir")
    p.add_argument("--user")
    p.add_argument("--label", action="append")
    a = p.parse_args()

    diff_ids = []
    for layer in a.layer:
        if not os.path.isfile(layer):
            sys.exit(f"docker-archive: layer {layer} does not exist")
        diff_ids.append("sha256:" + sha256_file(layer))

    config = {
        "Env": [f"{k}={v}" for k, v in parse_pairs(a.env, "--env").items()],
        "Labels": parse_pairs(a.label, "--label"),
    }
    if a.entrypoint:
        config["Entrypoint"] = json.loads(a.entrypoint)
    if a.cmd:
        config["Cmd"] = json.loads(a.cmd)
    if a.workdir:
        config["WorkingDir"] = a.workdir
    if a.user:
        config["User"] = a.user
    image_config = {
        "architecture": "amd64",
        "os": "linux",
        # A fixed date keeps the config digest a function of the inputs only.
        "created": "1970-01-01T00:00:00Z",
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": os.path.basename(l)} for l in a.layer],
    }
    config_bytes = json.dumps(image_config, sort_keys=True, separators=(",", ":")).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"

    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(a.out))) as tmp:
        layer_names = []
        for layer, diff_id in zip(a.layer, diff_ids):
            name = diff_id.split(":", 1)[1] + "/layer.tar"
            os.makedirs(os.path.join(tmp, os.path.dirname(name)), exist_ok=True)
            # Hard links keep multi-GB layers from being copied again.
            try:
                os.link(layer, os.path.join(tmp, name))
            except OSError:
                shutil.copyfile(layer, os.path.join(tmp, name))
            layer_names.append(name)
        with open(os.path.join(tmp, config_name), "wb") as f:
            f.write(config_bytes)
        manifest = [{"Config": config_name, "RepoTags": [a.tag], "Layers": layer_names}]
        with open(os.path.join(tmp, "manifest.json"), "w") as f:
            json.dump(manifest, f)
        partial = a.out + ".partial"
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
            for name in ["manifest.json", config_name] + layer_names:
                tar.add(os.path.join(tmp, name), arcname=name)
        os.replace(partial, a.out)


if __name__ == "__main__":
    main()
