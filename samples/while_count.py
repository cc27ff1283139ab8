"""A loop whose count the input sets: x reaches the result only through the number of iterations."""


def f(x, y):
    s = y
    n = 0
    while n < x:
        s = s * y
        n += 1
    return s
