/* adcli._tape: adcli's hot loops in C. Optional: each has a Python twin that gives the same
   results (the tests compare them), used when this extension was not built.

   - Tracing (twin: tracer.py's PythonVarBase). A Tape holds a trace as it is recorded,
     column by column in C arrays (opcode, first argument, second argument, value: 25 bytes a
     node). A Var is a value and the index of the node that computed it. Arithmetic between Vars
     and plain numbers, and the unary math functions, append one node to the active tape and return
     a new Var; so does x ** y where it has a value. Everything off the hot path (comparisons, escapes
     such as float(x), other powers, plain numbers seen for the first time, error messages) stays in Python: the Var class that results
     get is a Python subclass of this base, and the recorder's constant and error hooks are Python
     functions. A Var holds no references, so it takes no part in garbage collection.
   - Evaluation of a long trace (twin: evaluate.evaluate).
   - The reverse sweep of a long trace (twin: sweeps.reverse_sweep), and the forward sweep (twin:
     sweeps.forward_loop).
   - Value and gradient at many points, a block of points at a time (twin: batch.sweep_points_numpy).
   - Parsing a well-formed expression (twin: parser._Parser); anything else is left to Python. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <math.h>

#include <stdint.h>

/* ------------------------------------------------------------------ the tape */

typedef struct {
    PyObject_HEAD
    Py_ssize_t size, capacity;
    signed char *op;
    int64_t *arg0, *arg1;
    double *value;
    unsigned long long generation; /* unique per tape: a Var records the one it belongs to */
} TapeObject;

static unsigned long long last_generation = 0;

static PyObject *array_type = NULL; /* array.array, for the columns handed to Python */

static int
tape_grow(TapeObject *t)
{
    Py_ssize_t capacity = t->capacity ? 2 * t->capacity : 1024;
    signed char *op = PyMem_Realloc(t->op, capacity);
    if (op != NULL) t->op = op;
    int64_t *arg0 = op ? PyMem_Realloc(t->arg0, capacity * sizeof(int64_t)) : NULL;
    if (arg0 != NULL) t->arg0 = arg0;
    int64_t *arg1 = arg0 ? PyMem_Realloc(t->arg1, capacity * sizeof(int64_t)) : NULL;
    if (arg1 != NULL) t->arg1 = arg1;
    double *value = arg1 ? PyMem_Realloc(t->value, capacity * sizeof(double)) : NULL;
    if (value == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    t->value = value;
    t->capacity = capacity;
    return 0;
}

/* Append a node; returns its index, or -1 with an exception set. */
static Py_ssize_t
tape_append(TapeObject *t, long code, Py_ssize_t a, Py_ssize_t b, double value)
{
    if (t->size == t->capacity && tape_grow(t) < 0) {
        return -1;
    }
    Py_ssize_t node = t->size++;
    t->op[node] = (signed char)code;
    t->arg0[node] = a;
    t->arg1[node] = b;
    t->value[node] = value;
    return node;
}

static PyObject *
tape_push(TapeObject *self, PyObject *args)
{
    long code;
    Py_ssize_t a, b;
    double value;
    if (!PyArg_ParseTuple(args, "lnnd", &code, &a, &b, &value)) {
        return NULL;
    }
    if (code < 0 || code > 127 || a < -1 || b < -1 || a >= self->size || b >= self->size) {
        PyErr_SetString(PyExc_ValueError, "push: an opcode outside 0..127 or an argument that is not an earlier node");
        return NULL;
    }
    Py_ssize_t node = tape_append(self, code, a, b, value);
    return node < 0 ? NULL : PyLong_FromSsize_t(node);
}

/* The index of a node of the tape, or -1 with IndexError (or the conversion's error) set. */
static Py_ssize_t
node_index(TapeObject *self, PyObject *arg)
{
    Py_ssize_t node = PyLong_AsSsize_t(arg);
    if (node == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (node < 0 || node >= self->size) {
        PyErr_SetString(PyExc_IndexError, "no such node");
        return -1;
    }
    return node;
}

static PyObject *
tape_value(TapeObject *self, PyObject *arg)
{
    Py_ssize_t node = node_index(self, arg);
    return node < 0 ? NULL : PyFloat_FromDouble(self->value[node]);
}

static PyObject *
tape_node(TapeObject *self, PyObject *arg)
{
    Py_ssize_t node = node_index(self, arg);
    if (node < 0) {
        return NULL;
    }
    return Py_BuildValue("iLLd", (int)self->op[node], (long long)self->arg0[node], (long long)self->arg1[node],
                         self->value[node]);
}

static PyObject *
tape_truncate(TapeObject *self, PyObject *arg)
{
    Py_ssize_t size = PyLong_AsSsize_t(arg);
    if (size == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (size < 0 || size > self->size) {
        PyErr_SetString(PyExc_ValueError, "truncate: a size between 0 and the tape's length");
        return NULL;
    }
    self->size = size;
    Py_RETURN_NONE;
}

static PyObject *
column(const char *typecode, const void *data, Py_ssize_t bytes)
{
    PyObject *raw = PyBytes_FromStringAndSize(data, bytes);
    if (raw == NULL) {
        return NULL;
    }
    PyObject *result = PyObject_CallFunction(array_type, "sO", typecode, raw);
    Py_DECREF(raw);
    return result;
}

static PyObject *
tape_columns(TapeObject *self, PyObject *unused)
{
    Py_ssize_t n = self->size;
    PyObject *op = column("b", self->op, n), *arg0 = column("q", self->arg0, n * 8),
             *arg1 = column("q", self->arg1, n * 8), *value = column("d", self->value, n * 8);
    PyObject *result = (op && arg0 && arg1 && value) ? PyTuple_Pack(4, op, arg0, arg1, value) : NULL;
    Py_XDECREF(op);
    Py_XDECREF(arg0);
    Py_XDECREF(arg1);
    Py_XDECREF(value);
    return result;
}

static Py_ssize_t
tape_length(TapeObject *self)
{
    return self->size;
}

static PyObject *
tape_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    TapeObject *self = (TapeObject *)PyType_GenericNew(type, args, kwargs);
    if (self != NULL) {
        self->generation = ++last_generation;
    }
    return (PyObject *)self;
}

static void
tape_dealloc(TapeObject *self)
{
    PyMem_Free(self->op);
    PyMem_Free(self->arg0);
    PyMem_Free(self->arg1);
    PyMem_Free(self->value);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef tape_methods[] = {
    {"push", (PyCFunction)tape_push, METH_VARARGS, "push(opcode, a, b, value) -> node: append a node."},
    {"value", (PyCFunction)tape_value, METH_O, "value(node) -> the node's value."},
    {"node", (PyCFunction)tape_node, METH_O, "node(i) -> (opcode, a, b, value) of node i."},
    {"truncate", (PyCFunction)tape_truncate, METH_O, "truncate(size): drop the nodes from size on."},
    {"columns", (PyCFunction)tape_columns, METH_NOARGS,
     "columns() -> (op, arg0, arg1, value): copies as array.array('b'), ('q'), ('q'), ('d')."},
    {NULL},
};

static PyMemberDef tape_members[] = {
    {"generation", T_ULONGLONG, offsetof(TapeObject, generation), READONLY, "unique per tape"},
    {NULL},
};

static PySequenceMethods tape_as_sequence = {.sq_length = (lenfunc)tape_length};

static PyTypeObject Tape_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "adcli._tape.Tape",
    .tp_doc = "Tape(): a trace being recorded, in four C arrays (len() is its number of nodes).",
    .tp_basicsize = sizeof(TapeObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = tape_new,
    .tp_dealloc = (destructor)tape_dealloc,
    .tp_methods = tape_methods,
    .tp_members = tape_members,
    .tp_as_sequence = &tape_as_sequence,
};

/* ------------------------------------------------------------------ traced numbers */

typedef struct {
    PyObject_HEAD
    double value;
    Py_ssize_t node;
    unsigned long long generation; /* the tape it belongs to */
} VarObject;

/* Recorder state, set by configure() once and by activate() per recording. */
static PyTypeObject *result_type = NULL; /* the Python subclass that new Vars get */
static PyObject *constant_hook = NULL;   /* constant(value) -> node, or None if not a number */
static PyObject *error_hook = NULL;      /* error_at(node) -> the exception to raise */
static PyObject *foreign_hook = NULL;    /* foreign() -> the exception for a Var of another recording */
static PyObject *pow_hook = NULL;        /* pow(x, y, mod) -> a Var: x ** y where the fast path does not apply */
static TapeObject *tape = NULL;          /* the active recording's tape */
static PyObject *constants = NULL;       /* dict: plain number -> node */
static long add_code = -1, sub_code = -1, mul_code = -1, div_code = -1, neg_code = -1, abs_code = -1,
            pow_code = -1;

static PyTypeObject VarBase_Type;

static int
is_var(PyObject *x)
{
    return PyObject_TypeCheck(x, &VarBase_Type);
}

/* Raise the exception that hook(arg...) returns (or the one calling it raised). */
static void
raise_from_hook(PyObject *hook, PyObject *arg)
{
    PyObject *error = arg ? PyObject_CallOneArg(hook, arg) : PyObject_CallNoArgs(hook);
    if (error != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(error), error);
        Py_DECREF(error);
    }
}

/* 0 when a recording is active and the Var belongs to it; -1 with an exception set otherwise. */
static int
check_own(PyObject *x)
{
    if (tape == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "a traced value was used outside its recording");
        return -1;
    }
    if (((VarObject *)x)->generation != tape->generation) {
        raise_from_hook(foreign_hook, NULL);
        return -1;
    }
    return 0;
}

/* Append a node to the active tape and return its Var, or raise the recorder's error when the
   value is inf or NaN (the operation is undefined at its arguments, or overflows). */
static PyObject *
push(long code, Py_ssize_t a, Py_ssize_t b, double value)
{
    if (tape == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "a traced value was used outside its recording");
        return NULL;
    }
    Py_ssize_t node = tape_append(tape, code, a, b, value);
    if (node < 0) {
        return NULL;
    }
    if (!isfinite(value)) { /* the hook words the error and drops the node */
        PyObject *node_object = PyLong_FromSsize_t(node);
        if (node_object != NULL) {
            raise_from_hook(error_hook, node_object);
            Py_DECREF(node_object);
        }
        return NULL;
    }
    VarObject *var = (VarObject *)result_type->tp_alloc(result_type, 0);
    if (var != NULL) {
        var->value = value;
        var->node = node;
        var->generation = tape->generation;
    }
    return (PyObject *)var;
}

/* The node and value of an operand: a Var, or a plain number (a constant node). Returns 1 when
   found, 0 when the operand is not a number (the operator returns NotImplemented), -1 on error. */
static int
operand(PyObject *x, Py_ssize_t *node, double *value)
{
    if (is_var(x)) {
        if (check_own(x) < 0) {
            return -1;
        }
        *node = ((VarObject *)x)->node;
        *value = ((VarObject *)x)->value;
        return 1;
    }
    if (!PyFloat_Check(x) && !PyLong_Check(x)) {
        return 0;
    }
    PyObject *found = PyDict_GetItemWithError(constants, x); /* borrowed */
    if (found == NULL) {
        if (PyErr_Occurred()) {
            return -1;
        }
        found = PyObject_CallOneArg(constant_hook, x); /* the first time this number is seen */
        if (found == NULL) {
            return -1;
        }
        Py_DECREF(found); /* the constants dict keeps it alive */
        if (found == Py_None) {
            return 0;
        }
    }
    *node = PyLong_AsSsize_t(found);
    if (*node == -1 && PyErr_Occurred()) {
        return -1;
    }
    double v = PyFloat_AsDouble(x);
    if (v == -1.0 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
            return -1;
        }
        PyErr_Clear();
        v = NAN; /* as Python's float arithmetic with a huge int: undefined */
    }
    *value = v;
    return 1;
}

static PyObject *
binary(long code, PyObject *left, PyObject *right)
{
    Py_ssize_t a, b;
    double x, y, value;
    if (tape == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "a traced value was used outside its recording");
        return NULL;
    }
    int left_found = operand(left, &a, &x);
    if (left_found < 0) {
        return NULL;
    }
    int right_found = left_found ? operand(right, &b, &y) : 0;
    if (right_found < 0) {
        return NULL;
    }
    if (!left_found || !right_found) {
        Py_RETURN_NOTIMPLEMENTED;
    }
    if (code == add_code) {
        value = x + y;
    } else if (code == sub_code) {
        value = x - y;
    } else if (code == mul_code) {
        value = x * y;
    } else {
        value = y == 0.0 ? NAN : x / y; /* Python raises ZeroDivisionError: undefined */
    }
    return push(code, a, b, value);
}

static PyObject *var_add(PyObject *a, PyObject *b) { return binary(add_code, a, b); }
static PyObject *var_sub(PyObject *a, PyObject *b) { return binary(sub_code, a, b); }
static PyObject *var_mul(PyObject *a, PyObject *b) { return binary(mul_code, a, b); }
static PyObject *var_div(PyObject *a, PyObject *b) { return binary(div_code, a, b); }

/* x ** y: in C where it has a finite value (the C library's pow, as math.pow: a negative base with
   a whole exponent too); anything else (0 to a negative power, a negative base with a fractional
   exponent, inf or nan, an overflow, pow(x, y, mod), an operand that is not a number) goes to the
   Python hook, which words every error as the Python tracer does. */
static PyObject *
var_pow(PyObject *left, PyObject *right, PyObject *modulo)
{
    Py_ssize_t a, b;
    double x, y;
    if (modulo == Py_None && tape != NULL) {
        int found = operand(left, &a, &x);
        if (found > 0) {
            found = operand(right, &b, &y);
        }
        if (found < 0) {
            return NULL;
        }
        if (found && isfinite(x) && isfinite(y) && !(x == 0.0 && y < 0.0)) {
            double value = pow(x, y);
            if (isfinite(value)) {
                return push(pow_code, a, b, value);
            }
        }
    }
    return PyObject_CallFunctionObjArgs(pow_hook, left, right, modulo, NULL);
}

static PyObject *
var_neg(PyObject *self)
{
    if (check_own(self) < 0) {
        return NULL;
    }
    return push(neg_code, ((VarObject *)self)->node, -1, -((VarObject *)self)->value);
}

static PyObject *
var_abs(PyObject *self)
{
    if (check_own(self) < 0) {
        return NULL;
    }
    return push(abs_code, ((VarObject *)self)->node, -1, fabs(((VarObject *)self)->value));
}

static PyObject *
var_pos(PyObject *self)
{
    return Py_NewRef(self);
}

static PyObject *
var_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    double value;
    Py_ssize_t node;
    TapeObject *owner;
    if (!PyArg_ParseTuple(args, "dnO!", &value, &node, &Tape_Type, &owner)) {
        return NULL;
    }
    if (node < 0 || node >= owner->size) {
        PyErr_SetString(PyExc_IndexError, "no such node");
        return NULL;
    }
    VarObject *var = (VarObject *)type->tp_alloc(type, 0);
    if (var != NULL) {
        var->value = value;
        var->node = node;
        var->generation = owner->generation;
    }
    return (PyObject *)var;
}

static void
var_dealloc(PyObject *self)
{
    Py_TYPE(self)->tp_free(self);
}

static PyMemberDef var_members[] = {
    {"value", T_DOUBLE, offsetof(VarObject, value), READONLY, "the value"},
    {"node", T_PYSSIZET, offsetof(VarObject, node), READONLY, "the trace node that computed it"},
    {"generation", T_ULONGLONG, offsetof(VarObject, generation), READONLY, "the tape it belongs to"},
    {NULL},
};

static PyNumberMethods var_as_number = {
    .nb_add = var_add,
    .nb_subtract = var_sub,
    .nb_multiply = var_mul,
    .nb_true_divide = var_div,
    .nb_negative = var_neg,
    .nb_positive = var_pos,
    .nb_absolute = var_abs,
    .nb_power = var_pow,
};

static PyTypeObject VarBase_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "adcli._tape.VarBase",
    .tp_doc = "A traced number: its value and the trace node that computed it (the C hot path).",
    .tp_basicsize = sizeof(VarObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = var_new,
    .tp_dealloc = var_dealloc,
    .tp_members = var_members,
    .tp_as_number = &var_as_number,
};

/* ------------------------------------------------------------------ unary math functions */

typedef struct {
    PyObject_HEAD
    long code;
    PyObject *function; /* float -> float, e.g. math.sin */
    PyObject *fallback; /* called with anything that is not a Var */
    PyObject *name;     /* its __name__, as math.sin has one */
    vectorcallfunc vectorcall;
} UnaryObject;

static PyObject *
unary_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    UnaryObject *self = (UnaryObject *)callable;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs != 1 || kwnames != NULL || !is_var(args[0])) {
        return PyObject_Vectorcall(self->fallback, args, nargsf, kwnames);
    }
    VarObject *x = (VarObject *)args[0];
    double value;
    if (check_own((PyObject *)x) < 0) {
        return NULL;
    }
    PyObject *argument = PyFloat_FromDouble(x->value);
    if (argument == NULL) {
        return NULL;
    }
    PyObject *result = PyObject_CallOneArg(self->function, argument);
    Py_DECREF(argument);
    if (result == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_ArithmeticError) && !PyErr_ExceptionMatches(PyExc_ValueError)) {
            return NULL;
        }
        PyErr_Clear();
        value = NAN; /* undefined at its argument */
    } else {
        value = PyFloat_AsDouble(result);
        Py_DECREF(result);
        if (value == -1.0 && PyErr_Occurred()) {
            return NULL;
        }
    }
    return push(self->code, x->node, -1, value);
}

static PyObject *
unary_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    long code;
    PyObject *function, *fallback, *name;
    if (!PyArg_ParseTuple(args, "lOOU", &code, &function, &fallback, &name)) {
        return NULL;
    }
    UnaryObject *self = (UnaryObject *)type->tp_alloc(type, 0);
    if (self != NULL) {
        self->code = code;
        self->function = Py_NewRef(function);
        self->fallback = Py_NewRef(fallback);
        self->name = Py_NewRef(name);
        self->vectorcall = unary_vectorcall;
    }
    return (PyObject *)self;
}

static void
unary_dealloc(PyObject *self)
{
    Py_XDECREF(((UnaryObject *)self)->function);
    Py_XDECREF(((UnaryObject *)self)->fallback);
    Py_XDECREF(((UnaryObject *)self)->name);
    Py_TYPE(self)->tp_free(self);
}

static PyMemberDef unary_members[] = {
    {"__name__", T_OBJECT, offsetof(UnaryObject, name), READONLY, "the function's name"},
    {NULL},
};

static PyTypeObject Unary_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "adcli._tape.Unary",
    .tp_doc = "Unary(opcode, function, fallback, name): records the primitive on a Var, calls fallback otherwise.",
    .tp_members = unary_members,
    .tp_basicsize = sizeof(UnaryObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(UnaryObject, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_new = unary_new,
    .tp_dealloc = unary_dealloc,
};

/* ------------------------------------------------------------------ module functions */

static PyObject *
set_opcodes(PyObject *module, PyObject *codes)
{
    if (!PyDict_Check(codes)) {
        PyErr_SetString(PyExc_TypeError, "set_opcodes(dict)");
        return NULL;
    }
    struct { const char *name; long *code; } names[] = {
        {"add", &add_code}, {"sub", &sub_code}, {"mul", &mul_code}, {"div", &div_code},
        {"neg", &neg_code}, {"abs", &abs_code}, {"pow", &pow_code},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        PyObject *code = PyDict_GetItemString(codes, names[i].name);
        if (code == NULL || (*names[i].code = PyLong_AsLong(code)) == -1) {
            PyErr_Format(PyExc_ValueError, "no opcode for %s", names[i].name);
            return NULL;
        }
    }
    Py_RETURN_NONE;
}

static PyObject *
configure(PyObject *module, PyObject *args)
{
    PyObject *type, *constant, *error, *foreign, *power;
    if (!PyArg_ParseTuple(args, "O!OOOO", &PyType_Type, &type, &constant, &error, &foreign, &power)) {
        return NULL;
    }
    if (!PyType_IsSubtype((PyTypeObject *)type, &VarBase_Type)) {
        PyErr_SetString(PyExc_TypeError, "the result type must derive from VarBase");
        return NULL;
    }
    Py_XSETREF(result_type, (PyTypeObject *)Py_NewRef(type));
    Py_XSETREF(constant_hook, Py_NewRef(constant));
    Py_XSETREF(error_hook, Py_NewRef(error));
    Py_XSETREF(foreign_hook, Py_NewRef(foreign));
    Py_XSETREF(pow_hook, Py_NewRef(power));
    Py_RETURN_NONE;
}

static PyObject *
activate(PyObject *module, PyObject *args)
{
    PyObject *new_tape, *new_constants;
    if (!PyArg_ParseTuple(args, "OO", &new_tape, &new_constants)) {
        return NULL;
    }
    if (new_tape == Py_None) {
        Py_CLEAR(tape);
        Py_CLEAR(constants);
        Py_RETURN_NONE;
    }
    if (!PyObject_TypeCheck(new_tape, &Tape_Type) || !PyDict_CheckExact(new_constants)) {
        PyErr_SetString(PyExc_TypeError, "activate(tape: Tape, constants: dict)");
        return NULL;
    }
    Py_XSETREF(tape, (TapeObject *)Py_NewRef(new_tape));
    Py_XSETREF(constants, Py_NewRef(new_constants));
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ the reverse sweep */

/* A view (writable if asked) of a one-dimensional column with items of the given size, aligned to
   it (and, for floats, format 'd'): array.array and NumPy arrays both qualify. */
static int
column_view(PyObject *object, Py_buffer *view, Py_ssize_t itemsize, int is_double, const char *name, int writable)
{
    if (PyObject_GetBuffer(object, view, PyBUF_ND | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)) < 0) {
        return -1;
    }
    const char *format = view->format ? view->format : "B";
    if (format[0] == '<' || format[0] == '=' || format[0] == '@') {
        format++;
    }
    if (view->ndim != 1 || view->itemsize != itemsize || (is_double && format[0] != 'd') ||
        (!is_double && (format[0] == '\0' || strchr("bBhHiIlLqQnN", format[0]) == NULL))) {
        PyErr_Format(PyExc_TypeError, "%s must be a column of %zd-byte %s", name, itemsize,
                     is_double ? "floats" : "integers");
        PyBuffer_Release(view);
        return -1;
    }
    if ((uintptr_t)view->buf % (uintptr_t)itemsize != 0) { /* read as int64_t or double: undefined unaligned */
        PyErr_Format(PyExc_TypeError, "%s must be aligned to %zd bytes", name, itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* The columns and seed of a sweep: views of op, arg0, arg1, d0, d1 (all of one length n) and a
   zeroed buffer of n doubles with the seed's values added (``assign``: set, as the forward sweep's
   twin does; -0.0 stays -0.0). Returns n, or -1 with an exception set
   (the views already taken are released, the buffer freed). */
static Py_ssize_t
sweep_setup(const char *sweep, PyObject *args, int assign, Py_buffer views[5], double **buffer,
            long *first_primitive)
{
    PyObject *objects[5], *seed;
    if (!PyArg_ParseTuple(args, "OOOOOO!l", &objects[0], &objects[1], &objects[2], &objects[3], &objects[4],
                          &PyDict_Type, &seed, first_primitive)) {
        return -1;
    }
    static const char *names[5] = {"op", "arg0", "arg1", "d0", "d1"};
    static const Py_ssize_t sizes[5] = {1, 8, 8, 8, 8};
    int held = 0;
    *buffer = NULL;
    for (; held < 5; held++) {
        if (column_view(objects[held], &views[held], sizes[held], held >= 3, names[held], 0) < 0) {
            goto fail;
        }
    }
    Py_ssize_t n = views[0].len;
    for (int k = 1; k < 5; k++) {
        if (views[k].len / views[k].itemsize != n) {
            PyErr_Format(PyExc_ValueError, "%s: the columns differ in length", sweep);
            goto fail;
        }
    }
    *buffer = PyMem_Calloc(n ? n : 1, sizeof(double));
    if (*buffer == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    PyObject *key, *value;
    Py_ssize_t position = 0;
    while (PyDict_Next(seed, &position, &key, &value)) {
        Py_ssize_t node = PyLong_AsSsize_t(key);
        double v = PyFloat_AsDouble(value);
        if (PyErr_Occurred()) {
            goto fail;
        }
        if (node < 0 || node >= n) {
            PyErr_Format(PyExc_ValueError, "%s: a seed names no node", sweep);
            goto fail;
        }
        (*buffer)[node] = assign ? v : (*buffer)[node] + v;
    }
    return n;
fail:
    PyMem_Free(*buffer);
    *buffer = NULL;
    while (held-- > 0) {
        PyBuffer_Release(&views[held]);
    }
    return -1;
}

/* The end of a sweep: the buffer as an array('d') (unless failed), the views released. */
static PyObject *
sweep_result(int failed, Py_buffer views[5], double *buffer, Py_ssize_t n)
{
    PyObject *result = failed ? NULL : column("d", buffer, n * (Py_ssize_t)sizeof(double));
    PyMem_Free(buffer);
    for (int k = 0; k < 5; k++) {
        PyBuffer_Release(&views[k]);
    }
    return result;
}

static int
check_arguments(const char *sweep, Py_ssize_t i, int64_t a, int64_t b)
{
    if (a < 0 || a >= i || b < -1 || b >= i) {
        PyErr_Format(PyExc_ValueError, "%s: a node refers to a later node or none", sweep);
        return -1;
    }
    return 0;
}

static PyObject *
reverse_sweep(PyObject *module, PyObject *args)
{
    Py_buffer views[5];
    double *adjoint;
    long first_primitive;
    Py_ssize_t n = sweep_setup("reverse_sweep", args, 0, views, &adjoint, &first_primitive);
    if (n < 0) {
        return NULL;
    }
    const signed char *op = views[0].buf;
    const int64_t *arg0 = views[1].buf, *arg1 = views[2].buf;
    const double *d0 = views[3].buf, *d1 = views[4].buf;
    /* The loop of sweeps.reverse_sweep, product for product in the same order. */
    for (Py_ssize_t i = n - 1; i >= 0; i--) {
        double g = adjoint[i];
        if (g == 0.0 || op[i] < first_primitive) {
            continue;
        }
        int64_t a = arg0[i], b = arg1[i];
        if (check_arguments("reverse_sweep", i, a, b) < 0) {
            return sweep_result(1, views, adjoint, n);
        }
        if (d0[i] != 0.0) {
            adjoint[a] += g * d0[i];
        }
        if (b >= 0 && d1[i] != 0.0) {
            adjoint[b] += g * d1[i];
        }
    }
    return sweep_result(0, views, adjoint, n);
}

/* sweeps.product: a * b, where a zero factor gives 0 even against an infinite one. */
static inline double
product(double a, double b)
{
    return (a != 0.0 && b != 0.0) ? a * b : 0.0;
}

static PyObject *
forward_sweep(PyObject *module, PyObject *args)
{
    Py_buffer views[5];
    double *tangent;
    long first_primitive;
    Py_ssize_t n = sweep_setup("forward_sweep", args, 1, views, &tangent, &first_primitive);
    if (n < 0) {
        return NULL;
    }
    const signed char *op = views[0].buf;
    const int64_t *arg0 = views[1].buf, *arg1 = views[2].buf;
    const double *d0 = views[3].buf, *d1 = views[4].buf;
    /* The loop of sweeps.forward_loop, term for term in the same order. */
    for (Py_ssize_t i = 0; i < n; i++) {
        if (op[i] < first_primitive) {
            continue;
        }
        int64_t a = arg0[i], b = arg1[i];
        if (check_arguments("forward_sweep", i, a, b) < 0) {
            return sweep_result(1, views, tangent, n);
        }
        double t = 0.0 + product(d0[i], tangent[a]);
        if (b >= 0) {
            t += product(d1[i], tangent[b]);
        }
        tangent[i] = t;
    }
    return sweep_result(0, views, tangent, n);
}

/* ------------------------------------------------------------------ evaluation */

/* The value of one operation: arithmetic in C, anything else through its Python function.
   Returns 0 and sets *value (NaN where Python raises ArithmeticError or ValueError: undefined),
   or -1 with another exception set. */
static int
apply(long code, PyObject *function, int binary, double x, double y, double *value)
{
    if (code == add_code) { *value = x + y; return 0; }
    if (code == sub_code) { *value = x - y; return 0; }
    if (code == mul_code) { *value = x * y; return 0; }
    if (code == div_code) { *value = y == 0.0 ? NAN : x / y; return 0; }
    if (code == neg_code) { *value = -x; return 0; }
    if (code == abs_code) { *value = fabs(x); return 0; }
    PyObject *args[2] = {PyFloat_FromDouble(x), binary ? PyFloat_FromDouble(y) : NULL};
    PyObject *result = (args[0] && (!binary || args[1])) ? PyObject_Vectorcall(function, args, binary ? 2 : 1, NULL)
                                                          : NULL;
    Py_XDECREF(args[0]);
    Py_XDECREF(args[1]);
    if (result == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_ArithmeticError) && !PyErr_ExceptionMatches(PyExc_ValueError)) {
            return -1;
        }
        PyErr_Clear();
        *value = NAN;
        return 0;
    }
    *value = PyFloat_AsDouble(result);
    Py_DECREF(result);
    return (*value == -1.0 && PyErr_Occurred()) ? -1 : 0;
}

static PyObject *
evaluate(PyObject *module, PyObject *args)
{
    PyObject *objects[4], *functions;
    long first_primitive;
    if (!PyArg_ParseTuple(args, "OOOOO!l", &objects[0], &objects[1], &objects[2], &objects[3], &PyList_Type,
                          &functions, &first_primitive)) {
        return NULL;
    }
    if (add_code < 0) {
        PyErr_SetString(PyExc_RuntimeError, "set_opcodes() has not run");
        return NULL;
    }
    if (first_primitive < 0) {
        PyErr_SetString(PyExc_ValueError, "evaluate: first_primitive must not be negative");
        return NULL;
    }
    static const char *names[4] = {"op", "arg0", "arg1", "values"};
    static const Py_ssize_t sizes[4] = {1, 8, 8, 8};
    Py_buffer views[4];
    int held = 0;
    PyObject *result = NULL;
    for (; held < 4; held++) {
        if (column_view(objects[held], &views[held], sizes[held], held == 3, names[held], held == 3) < 0) {
            goto done;
        }
    }
    Py_ssize_t n = views[0].len;
    if (views[1].len / 8 != n || views[2].len / 8 != n || views[3].len / 8 != n) {
        PyErr_SetString(PyExc_ValueError, "evaluate: the columns differ in length");
        goto done;
    }
    const signed char *op = views[0].buf;
    const int64_t *arg0 = views[1].buf, *arg1 = views[2].buf;
    double *values = views[3].buf;
    Py_ssize_t failed = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        long code = op[i];
        if (code < 0) {
            PyErr_SetString(PyExc_ValueError, "evaluate: a negative opcode");
            goto done;
        }
        if (code < first_primitive) {
            continue;
        }
        int64_t a = arg0[i], b = arg1[i];
        if (a < 0 || a >= i || b < -1 || b >= i || code >= PyList_GET_SIZE(functions)) {
            PyErr_SetString(PyExc_ValueError, "evaluate: a node refers to a later node or none, or an unknown opcode");
            goto done;
        }
        double value;
        /* A reference of our own: the function may run Python code that changes the list. */
        PyObject *function = Py_NewRef(PyList_GET_ITEM(functions, code));
        int applied = apply(code, function, b >= 0, values[a], b >= 0 ? values[b] : 0.0, &value);
        Py_DECREF(function);
        if (applied < 0) {
            goto done;
        }
        if (!isfinite(value)) { /* undefined at its arguments, or an overflow */
            failed = i;
            break;
        }
        values[i] = value;
    }
    result = PyLong_FromSsize_t(failed);
done:
    while (held-- > 0) {
        PyBuffer_Release(&views[held]);
    }
    return result;
}

/* ------------------------------------------------------------------ the expression parser */

/* The fast path of adcli.parser for well-formed expressions: the same shunting-yard loop over
   the same tokens, building the same trace. It gives up (returns None) at anything unusual or
   wrong, non-ASCII text included, and the Python parser then parses the text and words the
   error; so the messages live in one place. The grammar (precedences, opcodes, function
   arities, named constants) comes from parser.py through set_grammar(). */

enum { MAX_OPCODES = 128, PAREN = -1 };
static PyObject *functions_by_name = NULL; /* name -> opcode */
static PyObject *constants_by_name = NULL; /* name -> float */
static int arity_of[MAX_OPCODES];
static struct { int precedence, code, right; } binary_op[128]; /* by token character; slot 1: "**" */
static int negate_precedence, negate_code, input_code = -1, const_code;
#define POWER_TOKEN 1 /* the slot of "**" in binary_op (no character of the language) */

static PyObject *
set_grammar(PyObject *module, PyObject *args)
{
    PyObject *binary, *negate, *functions, *arities, *constants;
    if (!PyArg_ParseTuple(args, "O!O!O!O!O!ii", &PyDict_Type, &binary, &PyTuple_Type, &negate, &PyDict_Type,
                          &functions, &PyList_Type, &arities, &PyDict_Type, &constants, &input_code, &const_code)) {
        return NULL;
    }
    memset(binary_op, 0, sizeof(binary_op));
    PyObject *key, *value;
    Py_ssize_t position = 0;
    while (PyDict_Next(binary, &position, &key, &value)) {
        const char *token = PyUnicode_AsUTF8(key);
        int precedence, code, right;
        if (token == NULL || !PyArg_ParseTuple(value, "iip", &precedence, &code, &right)) {
            return NULL;
        }
        int slot = strcmp(token, "**") == 0 ? POWER_TOKEN : (unsigned char)token[0];
        if (slot >= 128 || (token[1] && slot != POWER_TOKEN)) {
            PyErr_SetString(PyExc_ValueError, "set_grammar: binary operators are one ASCII character or '**'");
            return NULL;
        }
        binary_op[slot].precedence = precedence;
        binary_op[slot].code = code;
        binary_op[slot].right = right;
    }
    if (!PyArg_ParseTuple(negate, "ii", &negate_precedence, &negate_code)) {
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(arities);
    if (n > MAX_OPCODES) {
        PyErr_SetString(PyExc_ValueError, "set_grammar: too many opcodes");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        arity_of[i] = (int)PyLong_AsLong(PyList_GET_ITEM(arities, i));
    }
    Py_XSETREF(functions_by_name, Py_NewRef(functions));
    Py_XSETREF(constants_by_name, Py_NewRef(constants));
    if (PyErr_Occurred()) {
        return NULL;
    }
    Py_RETURN_NONE;
}

enum { T_NUMBER, T_NAME, T_OPERATOR }; /* an operator token is one of + - * / ^ ( ) , or ** */

typedef struct {
    int kind;
    int character; /* the operator's character; POWER_TOKEN for ** */
    Py_ssize_t start, end;
} Token;

typedef struct {
    Py_ssize_t size, capacity, item;
    char *data;
} Stack;

static int
stack_push(Stack *stack, const void *item)
{
    if (stack->size == stack->capacity) {
        Py_ssize_t capacity = stack->capacity ? 2 * stack->capacity : 64;
        char *data = PyMem_Realloc(stack->data, capacity * stack->item);
        if (data == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        stack->data = data;
        stack->capacity = capacity;
    }
    memcpy(stack->data + stack->size++ * stack->item, item, stack->item);
    return 0;
}

#define STACK(type) {0, 0, sizeof(type), NULL}
#define TOP(stack, type) (((type *)(stack).data)[(stack).size - 1])
#define AT(stack, type, i) (((type *)(stack).data)[i])

static int
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int
is_name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The tokens of parser._TOKEN, or 0 with nothing set when the text holds anything else. */
static int
tokenize(const char *text, Py_ssize_t length, Stack *tokens)
{
    Py_ssize_t i = 0;
    while (i < length) {
        char c = text[i];
        Token token = {T_OPERATOR, c, i, i + 1};
        if (is_space(c)) {
            i++;
            continue;
        }
        if (c == '*' && i + 1 < length && text[i + 1] == '*') {
            token.character = POWER_TOKEN;
            token.end = i + 2;
        } else if (c != '\0' && strchr("+-*/^(),", c) != NULL) {
        } else if (is_name_start(c)) {
            token.kind = T_NAME;
            while (token.end < length && (is_name_start(text[token.end]) || is_digit(text[token.end]))) {
                token.end++;
            }
        } else if (is_digit(c) || (c == '.' && i + 1 < length && is_digit(text[i + 1]))) {
            token.kind = T_NUMBER;
            Py_ssize_t j = i;
            while (j < length && is_digit(text[j])) j++;
            if (j < length && text[j] == '.') {
                j++;
                while (j < length && is_digit(text[j])) j++;
            }
            if (j < length && (text[j] == 'e' || text[j] == 'E')) { /* an exponent only with its digits */
                Py_ssize_t k = j + 1;
                if (k < length && (text[k] == '+' || text[k] == '-')) k++;
                if (k < length && is_digit(text[k])) {
                    while (k < length && is_digit(text[k])) k++;
                    j = k;
                }
            }
            token.end = j;
        } else {
            return 0; /* a character the language has no place for, or non-ASCII text */
        }
        if (stack_push(tokens, &token) < 0) {
            return -1;
        }
        i = token.end;
    }
    return 1;
}

typedef struct {
    int precedence, code;
} Pending;

/* The last few distinct names and numbers of the text, so a name repeated a million times is one
   str object (whose hash is kept) and a repeated number is converted once. */
enum { RECENT = 32 };
typedef struct {
    const char *text;
    Py_ssize_t length;
    PyObject *name;  /* a name's str */
    Py_ssize_t node; /* a number's constant node */
} Seen;

typedef struct {
    Seen entries[RECENT];
    int count;
} Recent;

static Seen *
recent_find(Recent *recent, const char *text, Py_ssize_t length)
{
    for (int k = 0; k < recent->count; k++) {
        Seen *seen = &recent->entries[k];
        if (seen->length == length && memcmp(seen->text, text, length) == 0) {
            return seen;
        }
    }
    return NULL;
}

static void
recent_add(Recent *recent, const char *text, Py_ssize_t length, PyObject *name, Py_ssize_t node)
{
    if (recent->count < RECENT) {
        recent->entries[recent->count++] = (Seen){text, length, Py_XNewRef(name), node};
    }
}

static void
recent_clear(Recent *recent)
{
    for (int k = 0; k < recent->count; k++) {
        Py_XDECREF(recent->entries[k].name);
    }
    recent->count = 0;
}

/* A new reference to the str of the name at text[0:length]. */
static PyObject *
name_object(Recent *names, const char *text, Py_ssize_t length)
{
    Seen *seen = recent_find(names, text, length);
    if (seen != NULL) {
        return Py_NewRef(seen->name);
    }
    PyObject *name = PyUnicode_FromStringAndSize(text, length);
    if (name != NULL) {
        recent_add(names, text, length, name, -1);
    }
    return name;
}

typedef struct {
    TapeObject *tape; /* the columns being built (values unused) */
    Stack operands;   /* Py_ssize_t nodes */
    PyObject *literal, *literal_label, *numbers;
} Build;

/* Apply an operator to the operands on the stack, as parser._Parser._apply. */
static int
reduce(Build *b, int code)
{
    Py_ssize_t *top = &TOP(b->operands, Py_ssize_t);
    Py_ssize_t node;
    if (arity_of[code] == 1) {
        node = tape_append(b->tape, code, *top, -1, 0.0);
    } else {
        Py_ssize_t right = *top;
        b->operands.size--;
        top = &TOP(b->operands, Py_ssize_t);
        node = tape_append(b->tape, code, *top, right, 0.0);
    }
    if (node < 0) {
        return -1;
    }
    *top = node;
    return 0;
}

/* Apply pending operators down to the innermost parenthesis or call; returns its index in the
   operator stack, or -1 when there is none. */
static Py_ssize_t
reduce_group(Build *b, Stack *operators, int *failed)
{
    while (operators->size && TOP(*operators, Pending).precedence > 0) {
        int code = TOP(*operators, Pending).code;
        operators->size--;
        if (reduce(b, code) < 0) {
            *failed = 1;
            return -1;
        }
    }
    return operators->size - 1;
}

static Py_ssize_t
add_constant(Build *b, double value, PyObject *label)
{
    PyObject *key = PyFloat_FromDouble(value);
    if (key == NULL) {
        return -1;
    }
    if (label == NULL) {
        PyObject *found = PyDict_GetItemWithError(b->numbers, key);
        if (found != NULL || PyErr_Occurred()) {
            Py_DECREF(key);
            return found ? PyLong_AsSsize_t(found) : -1;
        }
    }
    Py_ssize_t node = tape_append(b->tape, const_code, -1, -1, value);
    PyObject *node_object = node >= 0 ? PyLong_FromSsize_t(node) : NULL;
    int ok = node_object != NULL && PyDict_SetItem(b->literal, node_object, key) == 0 &&
             (label ? PyDict_SetItem(b->literal_label, node_object, label) : PyDict_SetItem(b->numbers, key, node_object)) == 0;
    Py_XDECREF(node_object);
    Py_DECREF(key);
    return ok ? node : -1;
}

static PyObject *
parse(PyObject *module, PyObject *source)
{
    if (input_code < 0) {
        PyErr_SetString(PyExc_RuntimeError, "set_grammar() has not run");
        return NULL;
    }
    if (!PyUnicode_Check(source)) {
        PyErr_SetString(PyExc_TypeError, "parse(text: str)");
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(source)) {
        Py_RETURN_NONE; /* the Python parser reads (and rejects) everything else */
    }
    Py_ssize_t length;
    const char *text = PyUnicode_AsUTF8AndSize(source, &length);
    if (text == NULL) {
        return NULL;
    }
    Stack tokens = STACK(Token), operators = STACK(Pending), call_arguments = STACK(Py_ssize_t);
    Stack outputs = STACK(Py_ssize_t), output_spans = STACK(Py_ssize_t);
    Build b = {(TapeObject *)PyType_GenericNew(&Tape_Type, NULL, NULL), STACK(Py_ssize_t), PyDict_New(), PyDict_New(),
               PyDict_New()};
    PyObject *inputs = PyDict_New(), *input_names = PyList_New(0), *input_nodes = PyList_New(0), *result = NULL;
    int well_formed = 0, failed = 0;
    Recent names = {.count = 0}, numbers = {.count = 0};
    if (b.tape == NULL || b.literal == NULL || b.literal_label == NULL || b.numbers == NULL || inputs == NULL ||
        input_names == NULL || input_nodes == NULL) {
        goto done;
    }
    int tokenized = tokenize(text, length, &tokens);
    if (tokenized <= 0 || tokens.size == 0) {
        failed = tokenized < 0;
        goto done;
    }
    Py_ssize_t count = tokens.size;
    /* Inputs first, in order of first appearance of a name that is not called (parser._declare_inputs). */
    for (Py_ssize_t i = 0; i < count; i++) {
        Token *t = &AT(tokens, Token, i);
        if (t->kind != T_NAME || (i + 1 < count && AT(tokens, Token, i + 1).character == '(' &&
                                  AT(tokens, Token, i + 1).kind == T_OPERATOR)) {
            continue;
        }
        if (i > 0 && AT(tokens, Token, i - 1).end == t->start && AT(tokens, Token, i - 1).kind == T_NUMBER) {
            goto done; /* "2x": not an input to the Python parser either; it reports the missing '*' */
        }
        PyObject *name = name_object(&names, text + t->start, t->end - t->start);
        if (name == NULL) {
            failed = 1;
            goto done;
        }
        int known = PyDict_Contains(inputs, name) || PyDict_Contains(constants_by_name, name) ||
                    PyDict_Contains(functions_by_name, name);
        if (!known) {
            Py_ssize_t node = tape_append(b.tape, input_code, -1, -1, 0.0);
            PyObject *node_object = node >= 0 ? PyLong_FromSsize_t(node) : NULL;
            if (node_object == NULL || PyDict_SetItem(inputs, name, node_object) < 0 ||
                PyList_Append(input_names, name) < 0 || PyList_Append(input_nodes, node_object) < 0) {
                Py_XDECREF(node_object);
                Py_DECREF(name);
                failed = 1;
                goto done;
            }
            Py_DECREF(node_object);
        }
        Py_DECREF(name);
    }
    int expect_operand = 1;
    Py_ssize_t output_start = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        Token *t = &AT(tokens, Token, i);
        int c = t->character;
        if (expect_operand) {
            Py_ssize_t node = -1;
            if (t->kind == T_NUMBER) {
                Seen *seen = recent_find(&numbers, text + t->start, t->end - t->start);
                if (seen != NULL) {
                    node = seen->node;
                } else {
                    char *end;
                    double value = PyOS_string_to_double(text + t->start, &end, NULL);
                    if (value == -1.0 && PyErr_Occurred()) {
                        failed = 1;
                        goto done;
                    }
                    if (end != text + t->end || isinf(value)) {
                        goto done; /* too large for a float: the Python parser says so */
                    }
                    node = add_constant(&b, value, NULL);
                    recent_add(&numbers, text + t->start, t->end - t->start, NULL, node);
                }
            } else if (t->kind == T_NAME) {
                PyObject *name = name_object(&names, text + t->start, t->end - t->start);
                if (name == NULL) {
                    failed = 1;
                    goto done;
                }
                PyObject *input = PyDict_GetItemWithError(inputs, name);
                int called = i + 1 < count && AT(tokens, Token, i + 1).kind == T_OPERATOR &&
                             AT(tokens, Token, i + 1).character == '(';
                PyObject *function = input || !called ? NULL : PyDict_GetItemWithError(functions_by_name, name);
                PyObject *constant = input || called ? NULL : PyDict_GetItemWithError(constants_by_name, name);
                if (input != NULL) {
                    node = PyLong_AsSsize_t(input);
                } else if (function != NULL) {
                    Pending call = {0, (int)PyLong_AsLong(function)};
                    Py_ssize_t none = 0;
                    Py_DECREF(name);
                    if (stack_push(&operators, &call) < 0 || stack_push(&call_arguments, &none) < 0) {
                        failed = 1;
                        goto done;
                    }
                    i++; /* the call's '(' is part of the call */
                    continue;
                } else if (constant != NULL) {
                    node = add_constant(&b, PyFloat_AsDouble(constant), name);
                } else {
                    Py_DECREF(name);
                    failed = PyErr_Occurred() != NULL;
                    goto done; /* an unknown function, a function not called … */
                }
                Py_DECREF(name);
            } else if (c == '(') {
                Pending paren = {0, PAREN};
                if (stack_push(&operators, &paren) < 0) {
                    failed = 1;
                    goto done;
                }
                continue;
            } else if (c == '-') {
                Pending negate = {negate_precedence, negate_code};
                if (stack_push(&operators, &negate) < 0) {
                    failed = 1;
                    goto done;
                }
                continue;
            } else if (c == '+') {
                continue; /* unary plus changes nothing */
            } else {
                goto done; /* an operator where an operand belongs */
            }
            if (node < 0 || stack_push(&b.operands, &node) < 0) {
                failed = 1;
                goto done;
            }
            expect_operand = 0;
        } else if (t->kind != T_OPERATOR) {
            goto done; /* two operands in a row */
        } else if (c != '(' && c != ')' && c != ',') {
            int precedence = binary_op[c].precedence, right = binary_op[c].right;
            while (operators.size && (TOP(operators, Pending).precedence > precedence ||
                                      (TOP(operators, Pending).precedence == precedence && !right))) {
                int code = TOP(operators, Pending).code;
                operators.size--;
                if (reduce(&b, code) < 0) {
                    failed = 1;
                    goto done;
                }
            }
            Pending pending = {precedence, binary_op[c].code};
            if (stack_push(&operators, &pending) < 0) {
                failed = 1;
                goto done;
            }
            expect_operand = 1;
        } else if (c == ')') {
            Py_ssize_t group = reduce_group(&b, &operators, &failed);
            if (group < 0) {
                goto done;
            }
            int code = AT(operators, Pending, group).code;
            operators.size--;
            if (code != PAREN) {
                Py_ssize_t given = AT(call_arguments, Py_ssize_t, call_arguments.size - 1) + 1;
                call_arguments.size--;
                if (given != arity_of[code]) {
                    goto done;
                }
                if (reduce(&b, code) < 0) {
                    failed = 1;
                    goto done;
                }
            }
        } else if (c == ',') {
            Py_ssize_t group = reduce_group(&b, &operators, &failed);
            if (failed) {
                goto done;
            }
            if (group < 0) { /* it ends an output */
                Py_ssize_t output = TOP(b.operands, Py_ssize_t);
                Py_ssize_t span[2] = {output_start ? AT(tokens, Token, output_start).start : 0, t->start};
                b.operands.size--;
                if (stack_push(&outputs, &output) < 0 || stack_push(&output_spans, &span[0]) < 0 ||
                    stack_push(&output_spans, &span[1]) < 0) {
                    failed = 1;
                    goto done;
                }
                output_start = i + 1;
            } else if (AT(operators, Pending, group).code == PAREN) {
                goto done;
            } else {
                AT(call_arguments, Py_ssize_t, call_arguments.size - 1)++;
            }
            expect_operand = 1;
        } else {
            goto done; /* '(' after an operand */
        }
    }
    if (expect_operand || reduce_group(&b, &operators, &failed) >= 0 || failed) {
        goto done; /* the expression ends too early, or a group is never closed */
    }
    Py_ssize_t last = TOP(b.operands, Py_ssize_t);
    Py_ssize_t span[2] = {output_start ? AT(tokens, Token, output_start).start : 0, length};
    if (stack_push(&outputs, &last) < 0 || stack_push(&output_spans, &span[0]) < 0 ||
        stack_push(&output_spans, &span[1]) < 0) {
        failed = 1;
        goto done;
    }
    well_formed = 1;
    PyObject *output_nodes = PyList_New(outputs.size), *output_texts = PyList_New(outputs.size);
    for (Py_ssize_t k = 0; output_nodes && output_texts && k < outputs.size; k++) {
        Py_ssize_t begin = AT(output_spans, Py_ssize_t, 2 * k), end = AT(output_spans, Py_ssize_t, 2 * k + 1);
        while (begin < end && is_space(text[begin])) begin++;
        while (end > begin && is_space(text[end - 1])) end--;
        PyList_SET_ITEM(output_nodes, k, PyLong_FromSsize_t(AT(outputs, Py_ssize_t, k)));
        PyList_SET_ITEM(output_texts, k, PyUnicode_FromStringAndSize(text + begin, end - begin));
    }
    PyObject *columns = output_nodes && output_texts ? tape_columns(b.tape, NULL) : NULL;
    if (columns != NULL) {
        result = Py_BuildValue("(NOOOOOO)", columns, b.literal, b.literal_label, input_nodes, input_names,
                               output_nodes, output_texts);
    }
    Py_XDECREF(output_nodes);
    Py_XDECREF(output_texts);
    failed = result == NULL;
done:
    recent_clear(&names);
    recent_clear(&numbers);
    PyMem_Free(tokens.data);
    PyMem_Free(operators.data);
    PyMem_Free(call_arguments.data);
    PyMem_Free(outputs.data);
    PyMem_Free(output_spans.data);
    PyMem_Free(b.operands.data);
    Py_XDECREF(b.tape);
    Py_XDECREF(b.literal);
    Py_XDECREF(b.literal_label);
    Py_XDECREF(b.numbers);
    Py_XDECREF(inputs);
    Py_XDECREF(input_names);
    Py_XDECREF(input_nodes);
    if (failed || well_formed) {
        return result; /* NULL with the exception set, or the trace */
    }
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ batches of points */

/* Value and gradient of a trace at many points (twin: batch.sweep_points_numpy). The whole trace,
   then its reverse sweep, runs on a block of points at a time, so that every node's row of values
   and adjoints stays in the cache, instead of one full-length array per node and per partial.
   Each point gets the float path's arithmetic: the values of adcli.scalar (the C library's
   functions), the float partial rules of adcli.primitives, and the reverse sweep's rule that a
   zero adjoint or a zero partial adds nothing. Where an operation's value is not finite at finite
   arguments (undefined, or an overflow) it is NaN and counted, as the NumPy twin does; NaN
   propagates through min, max, relu and sign there, as NumPy's functions do. */

enum {
    K_NONE, K_ADD, K_SUB, K_MUL, K_DIV, K_NEG, K_POW, K_EXP, K_LOG, K_LOG10, K_LOG2, K_LOG1P, K_EXPM1,
    K_SOFTPLUS, K_ERF, K_ERFC, K_SQRT, K_SIN, K_COS, K_TAN, K_ASIN, K_ACOS, K_ATAN, K_ATAN2, K_HYPOT,
    K_SINH, K_COSH, K_TANH, K_ASINH, K_ACOSH, K_ATANH, K_SIGMOID, K_RELU, K_ABS, K_MIN, K_MAX, K_FLOOR,
    K_SIGN, K_COUNT
};
static const char *const kernel_names[K_COUNT] = {
    NULL, "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "log10", "log2", "log1p", "expm1",
    "softplus", "erf", "erfc", "sqrt", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "hypot",
    "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "sigmoid", "relu", "abs", "min", "max", "floor",
    "sign",
};
enum { KERNEL_OPCODES = 128 };
static unsigned char kernel_of[KERNEL_OPCODES]; /* opcode -> K_*; K_NONE: no kernel (the twin runs) */
static double inv_ln2, inv_ln10, two_over_sqrt_pi;

/* log and tanh four points at a time: glibc's vector math library (libmvec, the functions GCC calls
   when it vectorises a loop over log), found with dlopen at the first batch, on x86-64 processors with
   AVX2. Its results are within 4 ulp of the C library's (libmvec's bound; measured: 2 ulp, and
   both within the bounds of tests/test_accuracy.py), as NumPy's own vectorised log and tanh are.
   Its exp serves tanh's partial only: as a node's value it is up to 1.6 ulp from the true exp,
   beyond the 1 ulp stated for exp. Every other function is the C library's, bit for bit the
   one-point results; so is everything where libmvec or AVX2 is missing, or with another compiler
   or system. */
typedef void (*vector_loop)(int, Py_ssize_t, const double *, double *);
static vector_loop vector_math = NULL; /* vector_math(kernel, m, x, out): K_EXP, K_LOG or K_TANH */

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#include <dlfcn.h>
#include <immintrin.h>

typedef __m256d (*vector_function)(__m256d);
static vector_function vector_exp, vector_log, vector_tanh;

__attribute__((target("avx2"))) static void
vector_math_avx2(int kernel, Py_ssize_t m, const double *x, double *out)
{
    vector_function f = kernel == K_EXP ? vector_exp : kernel == K_LOG ? vector_log : vector_tanh;
    Py_ssize_t j = 0;
    for (; j + 4 <= m; j += 4) {
        _mm256_storeu_pd(out + j, f(_mm256_loadu_pd(x + j)));
    }
    if (j < m) { /* the last points, padded to four: every point goes through the same function */
        double in[4] = {1.0, 1.0, 1.0, 1.0}, result[4];
        memcpy(in, x + j, (size_t)(m - j) * sizeof(double));
        _mm256_storeu_pd(result, f(_mm256_loadu_pd(in)));
        memcpy(out + j, result, (size_t)(m - j) * sizeof(double));
    }
}

static void
load_vector_math(void)
{
    static int loaded = 0; /* set under the GIL, before any batch releases it */
    if (loaded) {
        return;
    }
    loaded = 1;
    __builtin_cpu_init();
    void *library = __builtin_cpu_supports("avx2") ? dlopen("libmvec.so.1", RTLD_NOW | RTLD_LOCAL) : NULL;
    if (library == NULL) {
        return;
    }
    vector_exp = (vector_function)dlsym(library, "_ZGVdN4v_exp");
    vector_log = (vector_function)dlsym(library, "_ZGVdN4v_log");
    vector_tanh = (vector_function)dlsym(library, "_ZGVdN4v_tanh");
    if (vector_exp && vector_log && vector_tanh) {
        vector_math = vector_math_avx2;
    }
}
#else
static void
load_vector_math(void)
{
}
#endif

static PyObject *
set_kernels(PyObject *module, PyObject *codes)
{
    if (!PyDict_Check(codes)) {
        PyErr_SetString(PyExc_TypeError, "set_kernels(dict)");
        return NULL;
    }
    memset(kernel_of, K_NONE, sizeof(kernel_of));
    inv_ln2 = 1 / log(2.0);
    inv_ln10 = 1 / log(10.0);
    two_over_sqrt_pi = 2 / sqrt(Py_MATH_PI);
    PyObject *unknown = PyList_New(0), *name, *code;
    Py_ssize_t position = 0;
    while (unknown != NULL && PyDict_Next(codes, &position, &name, &code)) {
        const char *text = PyUnicode_AsUTF8(name);
        long opcode = text ? PyLong_AsLong(code) : -1;
        if (text == NULL || (opcode == -1 && PyErr_Occurred())) {
            Py_CLEAR(unknown);
            break;
        }
        int k = 1;
        while (k < K_COUNT && strcmp(kernel_names[k], text) != 0) {
            k++;
        }
        if (k < K_COUNT && opcode >= 0 && opcode < KERNEL_OPCODES) {
            kernel_of[opcode] = (unsigned char)k;
        } else if (PyList_Append(unknown, name) < 0) {
            Py_CLEAR(unknown);
        }
    }
    return unknown;
}

/* adcli.scalar's functions that the C library lacks. */
static inline double
sigmoid_of(double x)
{
    if (x >= 0) {
        return 1.0 / (1.0 + exp(-x));
    }
    double z = exp(x);
    return z / (1.0 + z);
}

static inline double
sign_of(double x)
{
    return x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0;
}

/* The partial rules of adcli.primitives that take more than a line. */
static inline double
sech_squared(double x, double tanh_x)
{
    if (fabs(x) < 0.55) {
        return 1 - tanh_x * tanh_x;
    }
    double z = exp(-2 * fabs(x));
    return 4 * z / ((1 + z) * (1 + z));
}

static inline double
gaussian(double x)
{
    double error = 0.0;
    if (fabs(x) < 1e150) { /* Dekker's product: x*x - fl(x*x), exactly */
        double t = 134217729.0 * x, high = t - (t - x), low = x - high;
        error = ((high * high - x * x) + 2 * high * low) + low * low;
    }
    return exp(-(x * x)) * (1 - error);
}

static inline void
pow_partials(double x, double y, double out, double *p0, double *p1)
{
    if (x > 0) {
        *p0 = y == 0 ? y / x : y * pow(x, y - 1);
        *p1 = out * log(x);
    } else if (x < 0) {
        *p0 = y == 0 ? 0.0 : y * pow(x, y - 1);
        *p1 = 0.0;
    } else {
        *p0 = y == 0 ? 0.0 : (0 < y && y < 1) ? INFINITY : y * pow(x, y - 1);
        *p1 = 0.0;
    }
}

static inline void
atan2_partials(double y, double x, double *p0, double *p1)
{
    if (y == 0 && x == 0) {
        *p0 = 0.0 * x;
        *p1 = 0.0 * y;
        return;
    }
    int exponent;
    frexp(fabs(x) > fabs(y) ? fabs(x) : fabs(y), &exponent);
    int half = (-exponent) >= 0 ? (-exponent) / 2 : -((exponent + 1) / 2); /* Python's -exponent // 2 */
    double s1 = ldexp(1.0, half), s2 = ldexp(1.0, -exponent - half);
    double ys = y * s1 * s2, xs = x * s1 * s2;
    double r2 = xs * xs + ys * ys;
    *p0 = xs * s1 / r2 * s2;
    *p1 = -ys * s1 / r2 * s2;
}

static inline void
hypot_partials(double x, double y, double out, double *p0, double *p1)
{
    if (x == 0 && y == 0) {
        *p0 = sign_of(x);
        *p1 = sign_of(y);
        return;
    }
    double s = (fabs(x) > fabs(y) ? fabs(x) : fabs(y)) < 3.054936363499605e-151 /* 2^-500 */
                   ? 4.149515568880993e+180 /* 2^600 */ : 1.0;
    if (s == 1.0) {
        *p0 = x / out;
        *p1 = y / out;
        return;
    }
    double xs = x * s, ys = y * s, r = hypot(xs, ys);
    *p0 = xs / r;
    *p1 = ys / r;
}

#define EACH for (Py_ssize_t j = 0; j < m; j++)
#if defined(_MSC_VER) && !defined(restrict)
#define restrict __restrict
#endif
/* The loops over a block's rows stay functions of their own: there the compiler trusts their
   restrict pointers (rows that do not overlap) and uses vector instructions; inlined, it did not. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
/* and a second version for AVX2 (four floats a vector instruction), chosen at load where the
   processor has it: the same operations in the same order, so the same results. */
#define ROWS_LOOP __attribute__((noinline, target_clones("avx2", "default"))) static
#elif defined(__GNUC__)
#define ROWS_LOOP __attribute__((noinline)) static
#else
#define ROWS_LOOP static
#endif
#define NAN_OR(expression) (isnan(x[j]) || isnan(y[j]) ? NAN : (expression))

/* The values of one operation at m points: out[j] = f(x[j], y[j]). */
ROWS_LOOP void
block_values(int kernel, Py_ssize_t m, const double *restrict x, const double *restrict y, double *restrict out)
{
    switch (kernel) {
    case K_ADD: EACH out[j] = x[j] + y[j]; break;
    case K_SUB: EACH out[j] = x[j] - y[j]; break;
    case K_MUL: EACH out[j] = x[j] * y[j]; break;
    case K_DIV: EACH out[j] = x[j] / y[j]; break;
    case K_NEG: EACH out[j] = -x[j]; break;
    case K_POW: EACH out[j] = pow(x[j], y[j]); break;
    case K_EXP: EACH out[j] = exp(x[j]); break; /* libmvec's is 1.6 ulp off at some points: > exp's bound */
    case K_LOG: if (vector_math) { vector_math(K_LOG, m, x, out); } else { EACH out[j] = log(x[j]); } break;
    case K_LOG10: EACH out[j] = log10(x[j]); break;
    case K_LOG2: EACH out[j] = log2(x[j]); break;
    case K_LOG1P: EACH out[j] = log1p(x[j]); break;
    case K_EXPM1: EACH out[j] = expm1(x[j]); break;
    case K_SOFTPLUS: EACH out[j] = (x[j] > 0 ? x[j] : 0.0) + log1p(exp(x[j] > 0 ? -x[j] : x[j])); break;
    case K_ERF: EACH out[j] = erf(x[j]); break;
    case K_ERFC: EACH out[j] = erfc(x[j]); break;
    case K_SQRT: EACH out[j] = sqrt(x[j]); break;
    case K_SIN: EACH out[j] = sin(x[j]); break;
    case K_COS: EACH out[j] = cos(x[j]); break;
    case K_TAN: EACH out[j] = tan(x[j]); break;
    case K_ASIN: EACH out[j] = asin(x[j]); break;
    case K_ACOS: EACH out[j] = acos(x[j]); break;
    case K_ATAN: EACH out[j] = atan(x[j]); break;
    case K_ATAN2: EACH out[j] = atan2(x[j], y[j]); break;
    case K_HYPOT: EACH out[j] = hypot(x[j], y[j]); break;
    case K_SINH: EACH out[j] = sinh(x[j]); break;
    case K_COSH: EACH out[j] = cosh(x[j]); break;
    case K_TANH: if (vector_math) { vector_math(K_TANH, m, x, out); } else { EACH out[j] = tanh(x[j]); } break;
    case K_ASINH: EACH out[j] = asinh(x[j]); break;
    case K_ACOSH: EACH out[j] = acosh(x[j]); break;
    case K_ATANH: EACH out[j] = atanh(x[j]); break;
    case K_SIGMOID: EACH out[j] = sigmoid_of(x[j]); break;
    case K_RELU: EACH out[j] = isnan(x[j]) ? NAN : x[j] > 0 ? x[j] : 0.0; break;
    case K_ABS: EACH out[j] = fabs(x[j]); break;
    case K_MIN: EACH out[j] = NAN_OR(y[j] < x[j] ? y[j] : x[j]); break;
    case K_MAX: EACH out[j] = NAN_OR(y[j] > x[j] ? y[j] : x[j]); break;
    case K_FLOOR: EACH out[j] = floor(x[j]); break;
    case K_SIGN: EACH out[j] = isnan(x[j]) ? NAN : sign_of(x[j]); break;
    }
}

/* sin(x) (or cos(x)) into out, and the other into twin: glibc's sincos runs the code of sin and
   cos (the same results) in less time than the two; elsewhere, the two. */
ROWS_LOOP void
block_sincos(int kernel, Py_ssize_t m, const double *restrict x, double *restrict out, double *restrict twin)
{
    double *sines = kernel == K_SIN ? out : twin, *cosines = kernel == K_SIN ? twin : out;
#if defined(__GLIBC__)
    EACH sincos(x[j], &sines[j], &cosines[j]);
#else
    EACH {
        sines[j] = sin(x[j]);
        cosines[j] = cos(x[j]);
    }
#endif
}

/* The partials of one operation at m points, from its arguments and its value: *d0 (and *d1 for two
   arguments) point to them, computed into p0 and p1 or a row at hand (mul's are its arguments).
   ``twin`` is the value of cos(x) for sin(x) (of sin(x) for cos(x)), else NULL. Returns 0 for the
   discrete primitives, whose partials are 0 (nothing to add), else 1. */
ROWS_LOOP int
block_partials(int kernel, Py_ssize_t m, const double *restrict x, const double *restrict y,
               const double *restrict out, const double *restrict twin, double *restrict p0, double *restrict p1,
               const double **d0, const double **d1)
{
    *d0 = p0;
    *d1 = p1;
    switch (kernel) {
    case K_MUL: *d0 = y; *d1 = x; break;
    case K_DIV: EACH { p0[j] = 1 / y[j]; p1[j] = -out[j] / y[j]; } break;
    case K_POW: EACH pow_partials(x[j], y[j], out[j], &p0[j], &p1[j]); break;
    case K_EXP: *d0 = out; break;
    case K_LOG: EACH p0[j] = 1 / x[j]; break;
    case K_LOG10: EACH p0[j] = inv_ln10 / x[j]; break;
    case K_LOG2: EACH p0[j] = inv_ln2 / x[j]; break;
    case K_LOG1P: EACH p0[j] = 1 / (1 + x[j]); break;
    case K_EXPM1: EACH p0[j] = exp(x[j]); break;
    case K_SOFTPLUS: EACH p0[j] = sigmoid_of(x[j]); break;
    case K_ERF: EACH p0[j] = two_over_sqrt_pi * gaussian(x[j]); break;
    case K_ERFC: EACH p0[j] = -two_over_sqrt_pi * gaussian(x[j]); break;
    case K_SQRT: EACH p0[j] = out[j] != 0 ? 0.5 / out[j] : INFINITY; break;
    case K_SIN: if (twin) { *d0 = twin; } else { EACH p0[j] = cos(x[j]); } break;
    case K_COS: if (twin) { EACH p0[j] = -twin[j]; } else { EACH p0[j] = -sin(x[j]); } break;
    case K_TAN: EACH p0[j] = 1 + out[j] * out[j]; break;
    case K_ASIN: EACH p0[j] = fabs(x[j]) != 1 ? 1 / sqrt((1 - x[j]) * (1 + x[j])) : INFINITY; break;
    case K_ACOS: EACH p0[j] = fabs(x[j]) != 1 ? -1 / sqrt((1 - x[j]) * (1 + x[j])) : -INFINITY; break;
    case K_ATAN:
        EACH {
            if (fabs(x[j]) > 1) {
                double u = 1 / x[j];
                p0[j] = u / (x[j] + u);
            } else {
                p0[j] = 1 / (1 + x[j] * x[j]);
            }
        }
        break;
    case K_ATAN2: EACH atan2_partials(x[j], y[j], &p0[j], &p1[j]); break;
    case K_HYPOT: EACH hypot_partials(x[j], y[j], out[j], &p0[j], &p1[j]); break;
    case K_SINH: EACH p0[j] = cosh(x[j]); break;
    case K_COSH: EACH p0[j] = sinh(x[j]); break;
    case K_TANH:
        if (vector_math) { /* sech_squared, with exp(-2|x|) four at a time */
            EACH p1[j] = -2 * fabs(x[j]);
            vector_math(K_EXP, m, p1, p1);
            EACH p0[j] = fabs(x[j]) < 0.55 ? 1 - out[j] * out[j] : 4 * p1[j] / ((1 + p1[j]) * (1 + p1[j]));
        } else {
            EACH p0[j] = sech_squared(x[j], out[j]);
        }
        break;
    case K_ASINH: EACH p0[j] = 1 / hypot(1.0, x[j]); break;
    case K_ACOSH: EACH p0[j] = x[j] != 1 ? 1 / (sqrt(x[j] - 1) * sqrt(x[j] + 1)) : INFINITY; break;
    case K_ATANH: EACH p0[j] = 1 / ((1 - x[j]) * (1 + x[j])); break;
    case K_SIGMOID: EACH p0[j] = 0.25 * sech_squared(x[j] / 2, tanh(x[j] / 2)); break;
    case K_RELU: EACH p0[j] = x[j] > 0 ? 1.0 : 0.0; break;
    case K_ABS: EACH p0[j] = sign_of(x[j]); break;
    case K_MIN: EACH { p0[j] = x[j] < y[j] ? 1.0 : y[j] < x[j] ? 0.0 : 0.5; p1[j] = 1.0 - p0[j]; } break;
    case K_MAX: EACH { p0[j] = x[j] > y[j] ? 1.0 : y[j] > x[j] ? 0.0 : 0.5; p1[j] = 1.0 - p0[j]; } break;
    default: return 0; /* floor, sign */
    }
    return 1;
}

/* adjoint[a] += g * partial, where neither is zero (the float sweep's rule, product for product).
   The sum is computed everywhere and selected: no branch, so the compiler uses vector instructions. */
ROWS_LOOP void
accumulate(Py_ssize_t m, const double *restrict g, const double *restrict partial, double *restrict adjoint)
{
    EACH {
        double sum = adjoint[j] + g[j] * partial[j];
        adjoint[j] = (g[j] != 0.0) & (partial[j] != 0.0) ? sum : adjoint[j];
    }
}

ROWS_LOOP void
accumulate_constant(Py_ssize_t m, const double *restrict g, double partial, double *restrict adjoint)
{
    EACH {
        double sum = adjoint[j] + g[j] * partial;
        adjoint[j] = g[j] != 0.0 ? sum : adjoint[j];
    }
}

/* Where an infinite partial is a convention of the primitive (its kink: sqrt'(0), asin' at ±1,
   acosh'(1), d(x^y)/dx at x = 0 for 0 < y < 1), as the registry's kink predicates say; anywhere
   else an infinite or NaN partial at finite arguments and value is an overflow. */
static int
infinite_by_convention(int kernel, double x, double y, double out)
{
    switch (kernel) {
    case K_SQRT: return out == 0;
    case K_ASIN: case K_ACOS: return fabs(x) == 1;
    case K_ACOSH: return x == 1;
    case K_POW: return x == 0 && 0 < y && y < 1;
    default: return 0;
    }
}

/* The points of a block where a partial the sweep uses (d0, d1: NULL when not used) overflows, as
   one point at a time refuses (sweeps.linearize): marked in broken; with count_them, counted for the
   node (how many, and the first point). */
static void
mark_overflows(int kernel, Py_ssize_t m, const double *x, const double *y, const double *out, const double *d0,
               const double *d1, unsigned char *broken, int count_them, Py_ssize_t *count, Py_ssize_t *first,
               Py_ssize_t start)
{
    for (Py_ssize_t j = 0; j < m; j++) {
        int bad = (d0 != NULL && !isfinite(d0[j])) || (d1 != NULL && !isfinite(d1[j]));
        if (!bad || !isfinite(x[j]) || !isfinite(y[j]) || !isfinite(out[j]) ||
            infinite_by_convention(kernel, x[j], y[j], out[j])) {
            continue;
        }
        broken[j] = 1;
        if (count_them && (*count)++ == 0) {
            *first = start + j;
        }
    }
}

/* Whether any of m values is not finite: v * 0 is NaN for inf and NaN, else ±0, and eight sums of
   them (independent lanes, which the compiler puts in vector registers) stay ±0 unless one is NaN. */
ROWS_LOOP int
any_not_finite(Py_ssize_t m, const double *restrict values)
{
    double lanes[8] = {0.0};
    Py_ssize_t j = 0;
    for (; j + 8 <= m; j += 8) {
        for (int k = 0; k < 8; k++) {
            lanes[k] += values[j + k] * 0.0;
        }
    }
    for (; j < m; j++) {
        lanes[0] += values[j] * 0.0;
    }
    int bad = 0;
    for (int k = 0; k < 8; k++) {
        bad |= lanes[k] != 0.0;
    }
    return bad;
}
#undef EACH
#undef NAN_OR
#undef ROWS_LOOP

/* Rows of block points per node: enough to pay for the loop over nodes, few enough that the
   values and adjoints of every node stay in a core's L2 cache (a long trace gets fewer). */
enum { BLOCK = 512, BLOCK_BYTES = 1 << 19 };

typedef struct {
    Py_ssize_t node;
    Py_buffer view;
} Column;

/* Views of [(node, buffer), ...] in ``list``, writable or not, each of ``count`` floats. */
static Column *
columns_of(PyObject *list, Py_ssize_t n, Py_ssize_t count, int writable, Py_ssize_t *size, const char *name)
{
    if (!PyList_Check(list)) {
        PyErr_Format(PyExc_TypeError, "batch: %s must be a list of (node, column)", name);
        return NULL;
    }
    Py_ssize_t k = 0, length = PyList_GET_SIZE(list);
    Column *columns = PyMem_Calloc(length ? length : 1, sizeof(Column));
    if (columns == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    for (; k < length; k++) {
        PyObject *item = PyList_GET_ITEM(list, k), *column;
        if (!PyArg_ParseTuple(item, "nO", &columns[k].node, &column)) {
            break;
        }
        if (columns[k].node < 0 || columns[k].node >= n) {
            PyErr_Format(PyExc_ValueError, "batch: %s names no node", name);
            break;
        }
        if (column_view(column, &columns[k].view, 8, 1, name, writable) < 0) {
            break;
        }
        if (columns[k].view.len / 8 != count) {
            PyErr_Format(PyExc_ValueError, "batch: a column of %s has not one entry per point", name);
            PyBuffer_Release(&columns[k].view);
            break;
        }
    }
    if (k < length) {
        while (k-- > 0) {
            PyBuffer_Release(&columns[k].view);
        }
        PyMem_Free(columns);
        return NULL;
    }
    *size = length;
    return columns;
}

static void
release_columns(Column *columns, Py_ssize_t size)
{
    if (columns != NULL) {
        for (Py_ssize_t k = 0; k < size; k++) {
            PyBuffer_Release(&columns[k].view);
        }
        PyMem_Free(columns);
    }
}

/* The kernel of node i: K_NONE for a leaf (batch() has checked every operation's opcode). */
static inline int
node_kernel(const signed char *op, Py_ssize_t i, long first_primitive)
{
    return op[i] >= first_primitive ? kernel_of[op[i]] : K_NONE;
}

static PyObject *
batch(PyObject *module, PyObject *args)
{
    PyObject *objects[3], *leaves, *kept_list, *gradient_lists, *outputs;
    Py_ssize_t count;
    long first_primitive;
    if (!PyArg_ParseTuple(args, "OOOO!nO!O!O!l", &objects[0], &objects[1], &objects[2], &PyList_Type, &leaves,
                          &count, &PyList_Type, &outputs, &PyList_Type, &kept_list, &PyList_Type, &gradient_lists,
                          &first_primitive)) {
        return NULL;
    }
    static const char *names[3] = {"op", "arg0", "arg1"};
    static const Py_ssize_t sizes[3] = {1, 8, 8};
    Py_buffer views[3];
    int held = 0;
    PyObject *result = NULL;
    Py_ssize_t n = 0, outputs_count = PyList_GET_SIZE(outputs), kept_count = 0, inputs_count = 0;
    Column *inputs = NULL, *kept = NULL, **gradients = NULL;
    Py_ssize_t *gradient_counts = NULL, *output_nodes = NULL, *undefined = NULL, *first = NULL, *twin = NULL, *sin_of = NULL, *cos_of = NULL;
    Py_ssize_t *overflowed = NULL, *overflow_first = NULL;
    double *rows = NULL, **row = NULL, *adjoints = NULL, *p0 = NULL, *p1 = NULL;
    unsigned char *active = NULL, *reached = NULL, *paired = NULL, *broken = NULL, *checked = NULL;
    for (; held < 3; held++) {
        if (column_view(objects[held], &views[held], sizes[held], 0, names[held], 0) < 0) {
            goto done;
        }
    }
    n = views[0].len;
    if (views[1].len / 8 != n || views[2].len / 8 != n || PyList_GET_SIZE(leaves) != n || count < 0 ||
        PyList_GET_SIZE(gradient_lists) != outputs_count) {
        PyErr_SetString(PyExc_ValueError, "batch: the columns, leaves, outputs or gradients differ in length");
        goto done;
    }
    load_vector_math(); /* at the first batch, not at start-up */
    const signed char *op = views[0].buf;
    const int64_t *arg0 = views[1].buf, *arg1 = views[2].buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (op[i] < first_primitive) {
            continue;
        }
        if (op[i] < 0 || kernel_of[op[i]] == K_NONE) { /* a signed char is below KERNEL_OPCODES */
            result = Py_NewRef(Py_None); /* a primitive without a kernel: the twin runs */
            goto done;
        }
        if (arg0[i] < 0 || arg0[i] >= i || arg1[i] < -1 || arg1[i] >= i) {
            PyErr_SetString(PyExc_ValueError, "batch: a node refers to a later node or none");
            goto done;
        }
    }
    size_t nodes = n ? (size_t)n : 1, outs = outputs_count ? (size_t)outputs_count : 1; /* never 0 bytes */
    undefined = PyMem_Calloc(nodes, sizeof(Py_ssize_t));
    first = PyMem_Malloc(nodes * sizeof(Py_ssize_t));
    overflowed = PyMem_Calloc(nodes, sizeof(Py_ssize_t));
    overflow_first = PyMem_Calloc(nodes, sizeof(Py_ssize_t));
    checked = PyMem_Calloc(nodes, 1);
    twin = PyMem_Malloc(nodes * sizeof(Py_ssize_t));
    sin_of = PyMem_Malloc(nodes * sizeof(Py_ssize_t));
    cos_of = PyMem_Malloc(nodes * sizeof(Py_ssize_t));
    active = PyMem_Calloc(nodes, 1);
    paired = PyMem_Calloc(nodes, 1);
    reached = PyMem_Calloc(nodes, outs);
    output_nodes = PyMem_Calloc(outs, sizeof(Py_ssize_t));
    gradients = PyMem_Calloc(outs, sizeof(Column *));
    gradient_counts = PyMem_Calloc(outs, sizeof(Py_ssize_t));
    inputs = PyMem_Calloc(nodes, sizeof(Column));
    if (!undefined || !first || !twin || !sin_of || !cos_of || !active || !paired || !reached || !output_nodes || !gradients ||
        !gradient_counts || !inputs || !overflowed || !overflow_first || !checked) {
        PyErr_NoMemory();
        goto done;
    }
    /* The leaves: an input that varies is a column, its row a view of it per block (a constant fills
       its row once, below). */
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *leaf = PyList_GET_ITEM(leaves, i);
        first[i] = -1;
        if (op[i] >= first_primitive) {
            active[i] = active[arg0[i]] || (arg1[i] >= 0 && active[arg1[i]]);
            continue;
        }
        active[i] = op[i] == 0; /* INPUT */
        if (PyFloat_Check(leaf) || PyLong_Check(leaf)) {
            continue;
        }
        inputs[inputs_count].node = i;
        if (column_view(leaf, &inputs[inputs_count].view, 8, 1, "a leaf", 0) < 0) {
            goto done;
        }
        inputs_count++;
        if (inputs[inputs_count - 1].view.len / 8 != count) {
            PyErr_SetString(PyExc_ValueError, "batch: a leaf's column has not one entry per point");
            goto done;
        }
    }
    /* sin(x) and cos(x) of the same x: each one's partial is the other's value. */
    for (Py_ssize_t i = 0; i < n; i++) {
        sin_of[i] = cos_of[i] = -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        int kernel = node_kernel(op, i, first_primitive);
        if (kernel == K_SIN || kernel == K_COS) {
            (kernel == K_SIN ? sin_of : cos_of)[arg0[i]] = i;
        }
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        int kernel = node_kernel(op, i, first_primitive);
        twin[i] = kernel == K_SIN ? cos_of[arg0[i]] : kernel == K_COS ? sin_of[arg0[i]] : -1;
    }
    /* Per output: the operations its adjoint reaches (active ones only: only they lead to an input). */
    for (Py_ssize_t o = 0; o < outputs_count; o++) {
        Py_ssize_t node = PyLong_AsSsize_t(PyList_GET_ITEM(outputs, o));
        if (node == -1 && PyErr_Occurred()) {
            goto done;
        }
        if (node < 0 || node >= n) {
            PyErr_SetString(PyExc_ValueError, "batch: an output names no node");
            goto done;
        }
        output_nodes[o] = node;
        unsigned char *reach = reached + o * n;
        reach[node] = 1;
        for (Py_ssize_t i = node; i >= 0; i--) {
            if (reach[i] && op[i] >= first_primitive) {
                reach[arg0[i]] |= active[arg0[i]];
                if (arg1[i] >= 0) {
                    reach[arg1[i]] |= active[arg1[i]];
                }
            }
        }
        gradients[o] = columns_of(PyList_GET_ITEM(gradient_lists, o), n, count, 1, &gradient_counts[o], "gradients");
        if (gradients[o] == NULL) {
            goto done;
        }
    }
    kept = columns_of(kept_list, n, count, 1, &kept_count, "kept");
    if (kept == NULL) {
        goto done;
    }
    for (Py_ssize_t k = 0; k < kept_count; k++) {
        if (op[kept[k].node] < first_primitive) { /* its row would be the column, never filled */
            PyErr_SetString(PyExc_ValueError, "batch: kept names a leaf, not an operation");
            goto done;
        }
    }
    /* sin(x) and cos(x) both in the trace: the first computes both at once (sincos, paired 1), the
       other is then at hand (paired 2). A sin or cos whose partial is needed and whose twin the trace
       lacks computes both too, the twin into a row of its own after the nodes'. */
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t other = twin[i];
        if (other > i && twin[other] == i && !paired[i] && !paired[other]) {
            paired[i] = 1;
            paired[other] = 2;
        }
    }
    Py_ssize_t extra = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        int needed = 0;
        for (Py_ssize_t o = 0; o < outputs_count; o++) {
            needed |= reached[o * n + i];
        }
        int kernel = node_kernel(op, i, first_primitive);
        if ((kernel == K_SIN || kernel == K_COS) && twin[i] < 0 && needed) {
            twin[i] = n + extra++;
            paired[i] = 1;
        }
    }
    Py_ssize_t block = BLOCK;
    while (block > 8 && (size_t)block * (size_t)(2 * n + extra + 2) * sizeof(double) > BLOCK_BYTES) {
        block /= 2;
    }
    if (count < block) {
        block = count ? count : 1;
    }
    rows = PyMem_Malloc(((size_t)(n + extra) * block + 1) * sizeof(double));
    row = PyMem_Malloc((size_t)(n + extra + 1) * sizeof(double *));
    adjoints = PyMem_Malloc(((size_t)n * block + 1) * sizeof(double));
    p0 = PyMem_Malloc(block * sizeof(double));
    p1 = PyMem_Malloc(block * sizeof(double));
    broken = PyMem_Malloc(block);
    if (!rows || !row || !adjoints || !p0 || !p1 || !broken) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n + extra; i++) {
        row[i] = rows + i * block;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *leaf = PyList_GET_ITEM(leaves, i);
        if (op[i] < first_primitive && (PyFloat_Check(leaf) || PyLong_Check(leaf))) {
            double value = PyFloat_AsDouble(leaf);
            if (value == -1.0 && PyErr_Occurred()) {
                goto done;
            }
            for (Py_ssize_t j = 0; j < block; j++) {
                row[i][j] = value;
            }
        }
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t start = 0; start < count; start += block) {
        Py_ssize_t m = count - start < block ? count - start : block;
        /* An input's row is its column, a kept node's row the column it fills: no copies. */
        for (Py_ssize_t k = 0; k < inputs_count; k++) {
            row[inputs[k].node] = (double *)inputs[k].view.buf + start;
        }
        for (Py_ssize_t k = 0; k < kept_count; k++) {
            row[kept[k].node] = (double *)kept[k].view.buf + start;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            if (op[i] < first_primitive || paired[i] == 2) {
                continue; /* a leaf; or sin or cos computed with its twin: finite where x is */
            }
            const double *x = row[arg0[i]], *y = arg1[i] >= 0 ? row[arg1[i]] : x;
            double *out = row[i];
            if (paired[i] == 1) {
                block_sincos(kernel_of[op[i]], m, x, out, row[twin[i]]);
            } else {
                block_values(kernel_of[op[i]], m, x, y, out);
            }
            if (!any_not_finite(m, out)) {
                continue;
            }
            for (Py_ssize_t j = 0; j < m; j++) {
                if (!isfinite(out[j]) && isfinite(x[j]) && isfinite(y[j])) { /* undefined, or an overflow */
                    out[j] = NAN;
                    if (undefined[i]++ == 0) {
                        first[i] = start + j;
                    }
                }
            }
        }
        memset(checked, 0, (size_t)n);
        for (Py_ssize_t o = 0; o < outputs_count; o++) {
            Py_ssize_t top = output_nodes[o];
            const unsigned char *reach = reached + o * n;
            memset(broken, 0, (size_t)m);
            memset(adjoints, 0, (size_t)n * block * sizeof(double)); /* inputs after the output too */
            for (Py_ssize_t j = 0; j < m; j++) {
                adjoints[top * block + j] = 1.0;
            }
            for (Py_ssize_t i = top; i >= 0; i--) {
                if (!reach[i] || op[i] < first_primitive) {
                    continue;
                }
                int kernel = kernel_of[op[i]];
                Py_ssize_t a = arg0[i], b = arg1[i];
                const double *g = adjoints + i * block, *x = row[a], *y = b >= 0 ? row[b] : x;
                double *adjoint_a = adjoints + a * block, *adjoint_b = b >= 0 ? adjoints + b * block : NULL;
                if (kernel == K_ADD || kernel == K_SUB || kernel == K_NEG) {
                    if (active[a]) {
                        accumulate_constant(m, g, kernel == K_NEG ? -1.0 : 1.0, adjoint_a);
                    }
                    if (b >= 0 && active[b]) {
                        accumulate_constant(m, g, kernel == K_SUB ? -1.0 : 1.0, adjoint_b);
                    }
                    continue;
                }
                const double *partner = twin[i] >= 0 ? row[twin[i]] : NULL, *d0, *d1;
                if (!block_partials(kernel, m, x, y, row[i], partner, p0, p1, &d0, &d1)) {
                    continue;
                }
                const double *used0 = active[a] ? d0 : NULL, *used1 = b >= 0 && active[b] ? d1 : NULL;
                if ((used0 && any_not_finite(m, used0)) || (used1 && any_not_finite(m, used1))) {
                    mark_overflows(kernel, m, x, y, row[i], used0, used1, broken, !checked[i], &overflowed[i],
                                   &overflow_first[i], start);
                    checked[i] = 1;
                }
                if (active[a]) {
                    accumulate(m, g, d0, adjoint_a);
                }
                if (b >= 0 && active[b]) {
                    accumulate(m, g, d1, adjoint_b);
                }
            }
            const double *value = row[top];
            for (Py_ssize_t k = 0; k < gradient_counts[o]; k++) {
                double *column = (double *)gradients[o][k].view.buf + start;
                const double *adjoint = adjoints + gradients[o][k].node * block;
                for (Py_ssize_t j = 0; j < m; j++) { /* no derivative where there is no value, or it overflows */
                    column[j] = isfinite(value[j]) && !broken[j] ? adjoint[j] : NAN;
                }
            }
        }
    }
    Py_END_ALLOW_THREADS
    result = PyList_New(0);
    for (Py_ssize_t i = 0; result != NULL && i < n; i++) {
        for (int what = 0; what < 2; what++) {
            Py_ssize_t how_many = what ? overflowed[i] : undefined[i];
            if (!how_many || result == NULL) {
                continue;
            }
            PyObject *entry = Py_BuildValue("(nnns)", i, how_many, what ? overflow_first[i] : first[i],
                                            what ? "derivative" : "value");
            if (entry == NULL || PyList_Append(result, entry) < 0) {
                Py_CLEAR(result);
            }
            Py_XDECREF(entry);
        }
    }
done:
    for (Py_ssize_t o = 0; gradients != NULL && o < outputs_count; o++) {
        release_columns(gradients[o], gradient_counts[o]);
    }
    release_columns(kept, kept_count);
    release_columns(inputs, inputs_count);
    PyMem_Free(gradients);
    PyMem_Free(gradient_counts);
    PyMem_Free(output_nodes);
    PyMem_Free(rows);
    PyMem_Free(row);
    PyMem_Free(adjoints);
    PyMem_Free(p0);
    PyMem_Free(p1);
    PyMem_Free(undefined);
    PyMem_Free(first);
    PyMem_Free(overflowed);
    PyMem_Free(overflow_first);
    PyMem_Free(checked);
    PyMem_Free(broken);
    PyMem_Free(twin);
    PyMem_Free(sin_of);
    PyMem_Free(cos_of);
    PyMem_Free(active);
    PyMem_Free(paired);
    PyMem_Free(reached);
    while (held-- > 0) {
        PyBuffer_Release(&views[held]);
    }
    return result;
}

static PyMethodDef module_methods[] = {
    {"set_grammar", set_grammar, METH_VARARGS,
     "set_grammar(binary, negate, functions, arities, constants, input_code, const_code): parser.py's tables."},
    {"parse", parse, METH_O,
     "parse(text) -> (columns, literal, literal_label, inputs, input_names, outputs, output_names), or None\n"
     "when the text is not a well-formed expression (the Python parser then reports why)."},
    {"set_opcodes", set_opcodes, METH_O, "set_opcodes({'add': …, 'sub', 'mul', 'div', 'neg', 'abs', 'pow'})."},
    {"evaluate", evaluate, METH_VARARGS,
     "evaluate(op, arg0, arg1, values, functions, first_primitive) -> node: fills the operation values\n"
     "(inputs and constants are set) and returns the first node whose value is not finite, or -1."},
    {"reverse_sweep", reverse_sweep, METH_VARARGS,
     "reverse_sweep(op, arg0, arg1, d0, d1, seed, first_primitive) -> array('d'): the adjoints of\n"
     "sweeps.reverse_sweep, over columns (array.array or NumPy) of 1-byte opcodes, 8-byte node\n"
     "indices and float partials."},
    {"forward_sweep", forward_sweep, METH_VARARGS,
     "forward_sweep(op, arg0, arg1, d0, d1, seed, first_primitive) -> array('d'): the tangents of\n"
     "sweeps.forward_sweep (adcli's rule for 0*inf), over the same columns as reverse_sweep."},
    {"set_kernels", set_kernels, METH_O,
     "set_kernels({primitive name: opcode}) -> [names without a kernel]: the opcodes batch() runs."},
    {"batch", batch, METH_VARARGS,
     "batch(op, arg0, arg1, leaves, count, outputs, kept, gradients, first_primitive) -> [(node, count,\n"
     "first, 'value' or 'derivative')] of the undefined values and overflowing partials, or None when a\n"
     "primitive has no kernel: value and gradient at count points, a block of points at a time.\n"
     "leaves: per node, a float or a column of count floats\n"
     "(None for operations); kept: [(node, column)] to fill with values (the outputs' among them);\n"
     "gradients: per output, [(input node, column)] to fill with its partial derivatives."},
    {"configure", configure, METH_VARARGS,
     "configure(var_type, constant_hook, error_hook, foreign_hook, pow_hook): the Python side of the recorder."},
    {"activate", activate, METH_VARARGS,
     "activate(tape, constants): the Tape that operations append to (None, None: none)."},
    {NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "adcli._tape", "The hot path of adcli's tracer, in C.", -1, module_methods,
};

PyMODINIT_FUNC
PyInit__tape(void)
{
    if (PyType_Ready(&Tape_Type) < 0 || PyType_Ready(&VarBase_Type) < 0 || PyType_Ready(&Unary_Type) < 0) {
        return NULL;
    }
    PyObject *array_module = PyImport_ImportModule("array");
    if (array_module == NULL) {
        return NULL;
    }
    array_type = PyObject_GetAttrString(array_module, "array");
    Py_DECREF(array_module);
    PyObject *module = array_type ? PyModule_Create(&module_def) : NULL;
    if (module == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(module, "Tape", (PyObject *)&Tape_Type) < 0 ||
        PyModule_AddObjectRef(module, "VarBase", (PyObject *)&VarBase_Type) < 0 ||
        PyModule_AddObjectRef(module, "Unary", (PyObject *)&Unary_Type) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
