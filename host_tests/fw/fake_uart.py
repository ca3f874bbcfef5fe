# A UART whose far end sent `data` up front (the whole stream is there at once) and
# that counts the bytes written: for AT-transport cases without a modem simulator, on
# CPython and the unix micropython (fw/cases_modem_flow.py, fw/test_fuzz.py).


class FakeUart:
    def __init__(self, data):
        self.data = bytes(data)
        self.pos = 0
        self.out = 0

    def any(self):
        return len(self.data) - self.pos

    def readinto(self, buf, n=None):
        n = min(len(buf) if n is None else n, len(self.data) - self.pos)
        buf[:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        return n

    def write(self, b, *a):
        self.out += len(b)
        return len(b)
