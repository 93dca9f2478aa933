"""Port's jq dialect -> plain jq, and compile errors a person can act on.

Port accepts single-quoted string literals (`'and'`, `'='`) that jq itself rejects. Outside jq's
double-quoted strings (including `\\(...)` interpolations inside them) and comments, a
single-quoted literal is rewritten to the equivalent double-quoted one; everything else is left as
written, so a plain jq program comes out unchanged.
"""

from __future__ import annotations

import json

import jq


class JqSyntaxError(ValueError):
    """A jq expression that does not compile; `str()` is jq's message without the noise."""


def port_to_jq(expr: str) -> str:
    out: list[str] = []
    i, n = 0, len(expr)
    # stack of contexts: "code" or "string"; an interpolation `\(` pushes code with its paren depth
    stack: list[list] = [["code", 0]]
    while i < n:
        ch = expr[i]
        ctx = stack[-1]
        if ctx[0] == "string":
            if ch == "\\" and i + 1 < n:
                if expr[i + 1] == "(":
                    stack.append(["code", 0])
                out.append(expr[i:i + 2])
                i += 2
                continue
            if ch == '"':
                stack.pop()
            out.append(ch)
            i += 1
            continue
        # code
        if ch == '"':
            stack.append(["string", 0])
            out.append(ch)
            i += 1
        elif ch == "#":  # a comment runs to the end of the line
            end = expr.find("\n", i)
            end = n if end < 0 else end
            out.append(expr[i:end])
            i = end
        elif ch == "'":
            literal, end = _single_quoted(expr, i)
            if literal is None:  # unterminated: leave it for jq to report
                out.append(expr[i:])
                break
            out.append(json.dumps(literal, ensure_ascii=False))
            i = end
        else:
            if ch == "(":
                ctx[1] += 1
            elif ch == ")":
                if ctx[1] == 0 and len(stack) > 1:  # closes an interpolation: back in the string
                    stack.pop()
                else:
                    ctx[1] -= 1
            out.append(ch)
            i += 1
    return "".join(out)


def _single_quoted(expr: str, start: int) -> tuple[str | None, int]:
    """The text of the literal opening at `start` (`\\'` and `\\\\` unescaped) and the index after it."""
    chars: list[str] = []
    i = start + 1
    while i < len(expr):
        ch = expr[i]
        if ch == "\\" and i + 1 < len(expr) and expr[i + 1] in "'\\":
            chars.append(expr[i + 1])
            i += 2
        elif ch == "'":
            return "".join(chars), i + 1
        else:
            chars.append(ch)
            i += 1
    return None, len(expr)


def compile_jq(expr: str):
    """Compile a Port/jq expression once; JqSyntaxError names what jq did not understand."""
    try:
        return jq.compile(port_to_jq(expr))
    except ValueError as e:
        raise JqSyntaxError(clean_jq_message(str(e))) from None


def clean_jq_message(msg: str) -> str:
    """jq's compile report without the trailing 'N compile error(s)' line, on one line."""
    lines = [ln for ln in msg.splitlines() if ln.strip() and not ln.startswith("jq: ") or ln.startswith("jq: error")]
    lines = [ln for ln in lines if not ln.rstrip().endswith("compile error") and not ln.rstrip().endswith("compile errors")]
    text = " ".join(ln.strip() for ln in lines if ln.strip() != "^")
    return text.replace("jq: error: ", "").strip() or msg.strip()
