// Lint rules for the whole repository: ESLint's and typescript-eslint's recommended sets, with
// formatting left to Prettier (eslint-config-prettier turns off the rules it would fight).
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "charts/", "deploy/", "crds/", "bench/results/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // A leading underscore marks a parameter or binding that is there for its position only.
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
      ],
    },
  },
  // Plain JavaScript (the execution server's interpreter drivers, this file) runs on Node.js.
  { files: ["**/*.js", "**/*.mjs"], languageOptions: { globals: globals.node } },
  // The web console runs in the browser.
  { files: ["src/console/**/*.ts"], languageOptions: { globals: globals.browser } },
  prettier,
);
