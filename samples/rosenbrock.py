"""The Rosenbrock function of a list, written as a loop: its Hessian is tridiagonal."""


def f(x):
    s = 0
    for i in range(len(x) - 1):
        s = s + 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
    return s
