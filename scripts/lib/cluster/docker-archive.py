#!/usr/bin/env python3
"""Writes an image archive that `ctr images import` reads, from uncompressed layer tarballs,
so images are built with no Docker daemon and no registry.

Default: a docker-archive (docker save format) holding every layer.
--oci --present FILE: an OCI image layout that leaves out the layer blobs whose digests are
listed in FILE (blobs containerd already has), so re-importing an image whose base layer did
not change does not stream that layer again. The image name goes in the
io.containerd.image.name annotation (give the full name, e.g. docker.io/x/y:tag).

usage: docker-archive.py OUT.tar --tag REF --layer L1.tar [--layer L2.tar ...] [--oci --present FILE]
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
    p.add_argument("--oci", action="store_true")
    p.add_argument("--present")
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
    if a.oci:
        write_oci(a, diff_ids, config_bytes)
        return

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


def write_oci(a, diff_ids, config_bytes):
    present = set()
    if a.present and os.path.isfile(a.present):
        with open(a.present) as f:
            present = {line.strip() for line in f if line.strip()}
    blobs = []  # (digest, path or bytes)

    def add_bytes(data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs.append((digest, data))
        return {"digest": digest, "size": len(data)}

    config_desc = add_bytes(config_bytes)
    layers = []
    for layer, diff_id in zip(a.layer, diff_ids):
        # Uncompressed layers: the blob digest is the diff_id.
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": diff_id, "size": os.path.getsize(layer)})
        if diff_id not in present:
            blobs.append((diff_id, layer))
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config_desc},
        "layers": layers,
    }
    manifest_desc = add_bytes(json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode())
    tag = a.tag.rsplit(":", 1)[1] if ":" in a.tag.rsplit("/", 1)[-1] else "latest"
    index = {
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            **manifest_desc,
            "platform": {"architecture": "amd64", "os": "linux"},
            "annotations": {"io.containerd.image.name": a.tag, "org.opencontainers.image.ref.name": tag},
        }],
    }
    partial = a.out + ".partial"
    with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
        def add_data(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            import io
            tar.addfile(info, io.BytesIO(data))
        add_data("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add_data("index.json", json.dumps(index).encode())
        seen = set()
        for digest, src in blobs:
            if digest in seen:
                continue
            seen.add(digest)
            name = "blobs/sha256/" + digest.split(":", 1)[1]
            if isinstance(src, bytes):
                add_data(name, src)
            else:
                tar.add(src, arcname=name)
    os.replace(partial, a.out)


if __name__ == "__main__":
    main()
