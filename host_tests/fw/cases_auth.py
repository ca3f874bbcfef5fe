# Authorization token cases; run on CPython and MicroPython (see conftest.run_cases).
from onenet_ota import auth
from onenet_ota.errors import ConfigError

DOC_KEY = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw="


def case_doc_example_all_methods():
    return [auth.token("123123", DOC_KEY, 1537255523, m) for m in auth.METHODS]


def case_quote_documented_set():
    return auth.quote("a+b c/d?e%f#g&h=i")


def case_bad_keys_rejected():
    out = []
    for k in ("", "abc", "not-base64!", "QUJD=A==", "QUJDRA==="):
        try:
            auth.token("1", k, 1, "sha1")
            out.append("accepted " + k)
        except ConfigError as e:
            out.append(str(e))
    return out
