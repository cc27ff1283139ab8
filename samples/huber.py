"""The Huber loss: quadratic near 0, linear beyond delta. Both pieces meet with the same slope
(±delta) at |r| = delta, so it is C¹ everywhere and needs no derivative convention, unlike abs."""


def huber(r, delta=1.0):
    if abs(r) <= delta:
        return 0.5 * r * r
    return delta * (abs(r) - 0.5 * delta)
