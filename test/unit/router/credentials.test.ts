import { describe, expect, it } from "vitest";
import { presentedToken } from "../../../src/router/credentials.js";
import { RouterError } from "../../../src/router/errors.js";

const basic = (userPass: string): string => `Basic ${Buffer.from(userPass).toString("base64")}`;

function status(header: string | undefined): number | undefined {
  try {
    presentedToken(header);
    return undefined;
  } catch (err) {
    return err instanceof RouterError ? err.status : -1;
  }
}

describe("presented tokens", () => {
  it("come from Bearer headers", () => {
    expect(presentedToken("Bearer abc.def")).toBe("abc.def");
    expect(presentedToken("bearer  abc ")).toBe("abc");
  });

  it("come from the password of Basic credentials (as HTTP libraries send them from a netrc file)", () => {
    expect(presentedToken(basic("token:abc.def-ghi"))).toBe("abc.def-ghi");
    expect(presentedToken(basic(":abc"))).toBe("abc");
    // Only the first colon separates the user name: tokens may contain colons.
    expect(presentedToken(basic("me:a:b"))).toBe("a:b");
  });

  it("are refused with 401 when missing or malformed", () => {
    expect(status(undefined)).toBe(401);
    expect(status("Bearer")).toBe(401);
    expect(status("Token abc")).toBe(401);
    expect(status(basic("user-without-password"))).toBe(401);
    expect(status(basic("user:"))).toBe(401);
    expect(status(basic("user:two words"))).toBe(401);
  });
});
