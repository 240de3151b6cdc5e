import { describe, expect, it } from "vitest";
import { desiredService, servicePortsFor } from "../../../../src/controllers/sandbox/desired-service.js";
import { owner } from "../fixtures.js";

describe("servicePortsFor", () => {
  it("derives one service port per container port, targeting the same port", () => {
    const ports = servicePortsFor({
      containers: [
        { name: "a", ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }] },
        { name: "b", ports: [{ name: "dns", containerPort: 53, protocol: "UDP" }] },
      ],
    });
    expect(ports).toEqual([
      { name: "http", port: 8080, targetPort: 8080, protocol: "TCP" },
      { name: "dns", port: 53, targetPort: 53, protocol: "UDP" },
    ]);
  });

  it("names unnamed ports p-<port>-<protocol> and defaults the protocol to TCP", () => {
    const ports = servicePortsFor({
      containers: [
        {
          name: "a",
          ports: [{ containerPort: 9000 }, { containerPort: 9001, protocol: "UDP" }, { containerPort: 9002, protocol: "SCTP" }],
        },
      ],
    });
    expect(ports).toEqual([
      { name: "p-9000-tcp", port: 9000, targetPort: 9000, protocol: "TCP" },
      { name: "p-9001-udp", port: 9001, targetPort: 9001, protocol: "UDP" },
      { name: "p-9002-sctp", port: 9002, targetPort: 9002, protocol: "SCTP" },
    ]);
  });

  it("de-duplicates by port and protocol, keeping the first", () => {
    const ports = servicePortsFor({
      containers: [
        { name: "a", ports: [{ name: "first", containerPort: 80 }] },
        {
          name: "b",
          ports: [
            { name: "second", containerPort: 80, protocol: "TCP" },
            { containerPort: 80, protocol: "UDP" },
          ],
        },
      ],
    });
    expect(ports).toEqual([
      { name: "first", port: 80, targetPort: 80, protocol: "TCP" },
      { name: "p-80-udp", port: 80, targetPort: 80, protocol: "UDP" },
    ]);
  });

  it("includes restartable init containers (sidecars) but not ordinary init containers", () => {
    const ports = servicePortsFor({
      containers: [{ name: "main", ports: [{ containerPort: 1 }] }],
      initContainers: [
        { name: "sidecar", restartPolicy: "Always", ports: [{ containerPort: 2 }] },
        { name: "setup", ports: [{ containerPort: 3 }] },
      ],
    });
    expect(ports.map((p) => p.port)).toEqual([1, 2]);
  });

  it("returns no ports for containers without any", () => {
    expect(servicePortsFor({ containers: [{ name: "a" }] })).toEqual([]);
  });
});

describe("desiredService", () => {
  it("is a headless Service publishing not-ready addresses, selecting the sandbox pod", () => {
    const svc = desiredService({
      name: "sb",
      namespace: "ns",
      selector: { "agents.x-k8s.io/sandbox-name-hash": "abcd1234" },
      labels: { l: "1" },
      owner,
      podSpec: { containers: [{ name: "a", ports: [{ containerPort: 8888 }] }] },
    });
    expect(svc).toEqual({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "sb", namespace: "ns", labels: { l: "1" }, ownerReferences: [owner] },
      spec: {
        clusterIP: "None",
        selector: { "agents.x-k8s.io/sandbox-name-hash": "abcd1234" },
        ports: [{ name: "p-8888-tcp", port: 8888, targetPort: 8888, protocol: "TCP" }],
        publishNotReadyAddresses: true,
      },
    });
  });
});
