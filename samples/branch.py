"""A function that branches on its input: the derivative is that of the branch taken."""


def f(x):
    if x > 0:
        return x * x
    else:
        return -x
