"""Five steps of y <- y*y + x: a loop whose trace is the unrolled iteration."""


def f(x):
    y = x
    for _ in range(5):
        y = y * y + x
    return y
