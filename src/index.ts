// Package entry point: the SDK. The operator, router and CLI are separate entry points (bins).
export * from "./client/index.js";
