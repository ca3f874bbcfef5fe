# Numbers into preallocated buffers (request lines, journal records, AT commands):
# decimal digits written in place, no str built, nothing allocated.


# Write the digits of v (an int >= 0) into buf[p:] -> the index after them; ValueError
# if they would pass `end`.
def put_int(buf, p, v, end):
    n = 1
    x = v
    while x >= 10:
        x //= 10
        n += 1
    e = p + n
    if e > end:
        raise ValueError("no room")
    while n:
        n -= 1
        buf[p + n] = 48 + v % 10
        v //= 10
    return e
