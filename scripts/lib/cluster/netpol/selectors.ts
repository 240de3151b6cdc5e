import type { V1LabelSelector } from "@kubernetes/client-node";

export type Labels = Readonly<Record<string, string>>;

/**
 * Kubernetes label-selector semantics: every matchLabels pair and every matchExpression
 * must hold; an empty selector matches everything. An unknown operator matches nothing,
 * so a malformed policy fails closed instead of opening traffic.
 */
export function selectorMatches(selector: V1LabelSelector | undefined, labels: Labels): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const expr of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, expr.key);
    const value = labels[expr.key];
    const values = expr.values ?? [];
    switch (expr.operator) {
      case "In":
        if (!has || value === undefined || !values.includes(value)) return false;
        break;
      case "NotIn":
        if (has && value !== undefined && values.includes(value)) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}
