/* adcli._tape: the hot path of tracing, in C (optional; adcli/tracer.py has the same in Python).

   A traced number is a Var: a value and the int object naming its trace node. Arithmetic between
   Vars and plain numbers, and the unary math functions, append one node to the recorder's flat
   tape (opcode, first argument, second argument, value) and return a new Var, exactly as the
   generated Python operator methods in tracer.py do. Everything that is not on the hot path
   (comparisons, escapes such as float(x), pow, plain-number constants seen for the first time,
   error messages) stays in Python: the Var class that results get is a Python subclass of this
   base, and the recorder's constant and error hooks are Python functions.

   The base type holds no references that can form a cycle (a float and an int), so it takes no
   part in garbage collection. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <math.h>

typedef struct {
    PyObject_HEAD
    double value;
    PyObject *node; /* an int */
} VarObject;

/* Recorder state, set by configure() once and by activate() per recording. */
static PyTypeObject *result_type = NULL; /* the Python subclass that new Vars get */
static PyObject *constant_hook = NULL;   /* constant(value) -> node int, or None if not a number */
static PyObject *error_hook = NULL;      /* error_at(node) -> the exception to raise */
static PyObject *tape = NULL;            /* list: the active recorder's tape */
static PyObject *constants = NULL;       /* dict: plain number -> node int */
static PyObject *no_arg = NULL;          /* the int -1 */
static long add_code, sub_code, mul_code, div_code, neg_code, abs_code;

static PyTypeObject VarBase_Type;

static int
is_var(PyObject *x)
{
    return PyObject_TypeCheck(x, &VarBase_Type);
}

/* Append a node to the tape and return its Var, or raise the recorder's error when the value is
   inf or NaN (the operation is undefined at its arguments, or overflows). */
static PyObject *
push(long code, PyObject *a, PyObject *b, double value)
{
    if (tape == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "a traced value was used outside its recording");
        return NULL;
    }
    PyObject *node = PyLong_FromSsize_t(PyList_GET_SIZE(tape) >> 2);
    PyObject *code_object = PyLong_FromLong(code);
    PyObject *value_object = PyFloat_FromDouble(value);
    if (node == NULL || code_object == NULL || value_object == NULL ||
        PyList_Append(tape, code_object) < 0 || PyList_Append(tape, a) < 0 ||
        PyList_Append(tape, b) < 0 || PyList_Append(tape, value_object) < 0) {
        Py_XDECREF(node);
        Py_XDECREF(code_object);
        Py_XDECREF(value_object);
        return NULL;
    }
    Py_DECREF(code_object);
    Py_DECREF(value_object);
    if (!isfinite(value)) {
        PyObject *error = PyObject_CallOneArg(error_hook, node);
        Py_DECREF(node);
        if (error != NULL) {
            PyErr_SetObject((PyObject *)Py_TYPE(error), error);
            Py_DECREF(error);
        }
        return NULL;
    }
    VarObject *var = (VarObject *)result_type->tp_alloc(result_type, 0);
    if (var == NULL) {
        Py_DECREF(node);
        return NULL;
    }
    var->value = value;
    var->node = node; /* the reference from PyLong_FromSsize_t */
    return (PyObject *)var;
}

/* The node and value of an operand: a Var, or a plain number (a constant node). Returns 0 and
   sets *node to NULL when the operand is not a number (the operator returns NotImplemented). */
static int
operand(PyObject *x, PyObject **node, double *value)
{
    if (is_var(x)) {
        *node = ((VarObject *)x)->node;
        *value = ((VarObject *)x)->value;
        return 0;
    }
    *node = NULL;
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
    double v = PyFloat_AsDouble(x);
    if (v == -1.0 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
            return -1;
        }
        PyErr_Clear();
        v = NAN; /* as Python's float arithmetic with a huge int: undefined */
    }
    *node = found;
    *value = v;
    return 0;
}

static PyObject *
binary(long code, PyObject *left, PyObject *right)
{
    PyObject *a, *b;
    double x, y, value;
    if (operand(left, &a, &x) < 0 || operand(right, &b, &y) < 0) {
        return NULL;
    }
    if (a == NULL || b == NULL) {
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

static PyObject *
var_neg(PyObject *self)
{
    return push(neg_code, ((VarObject *)self)->node, no_arg, -((VarObject *)self)->value);
}

static PyObject *
var_abs(PyObject *self)
{
    return push(abs_code, ((VarObject *)self)->node, no_arg, fabs(((VarObject *)self)->value));
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
    PyObject *node;
    if (!PyArg_ParseTuple(args, "dO!", &value, &PyLong_Type, &node)) {
        return NULL;
    }
    VarObject *var = (VarObject *)type->tp_alloc(type, 0);
    if (var != NULL) {
        var->value = value;
        var->node = Py_NewRef(node);
    }
    return (PyObject *)var;
}

static void
var_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    Py_XDECREF(((VarObject *)self)->node);
    type->tp_free(self);
}

static PyMemberDef var_members[] = {
    {"value", T_DOUBLE, offsetof(VarObject, value), READONLY, "the value"},
    {"node", T_OBJECT, offsetof(VarObject, node), READONLY, "the trace node that computed it"},
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
    return push(self->code, x->node, no_arg, value);
}

static PyObject *
unary_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    long code;
    PyObject *function, *fallback;
    if (!PyArg_ParseTuple(args, "lOO", &code, &function, &fallback)) {
        return NULL;
    }
    UnaryObject *self = (UnaryObject *)type->tp_alloc(type, 0);
    if (self != NULL) {
        self->code = code;
        self->function = Py_NewRef(function);
        self->fallback = Py_NewRef(fallback);
        self->vectorcall = unary_vectorcall;
    }
    return (PyObject *)self;
}

static void
unary_dealloc(PyObject *self)
{
    Py_XDECREF(((UnaryObject *)self)->function);
    Py_XDECREF(((UnaryObject *)self)->fallback);
    Py_TYPE(self)->tp_free(self);
}

static PyTypeObject Unary_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "adcli._tape.Unary",
    .tp_doc = "Unary(opcode, function, fallback): records the primitive on a Var, calls fallback otherwise.",
    .tp_basicsize = sizeof(UnaryObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(UnaryObject, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_new = unary_new,
    .tp_dealloc = unary_dealloc,
};

/* ------------------------------------------------------------------ module functions */

static PyObject *
configure(PyObject *module, PyObject *args)
{
    PyObject *type, *codes;
    if (!PyArg_ParseTuple(args, "O!OOO!", &PyType_Type, &type, &constant_hook, &error_hook, &PyDict_Type, &codes)) {
        return NULL;
    }
    if (!PyType_IsSubtype((PyTypeObject *)type, &VarBase_Type)) {
        PyErr_SetString(PyExc_TypeError, "the result type must derive from VarBase");
        return NULL;
    }
    struct { const char *name; long *code; } names[] = {
        {"add", &add_code}, {"sub", &sub_code}, {"mul", &mul_code}, {"div", &div_code},
        {"neg", &neg_code}, {"abs", &abs_code},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        PyObject *code = PyDict_GetItemString(codes, names[i].name);
        if (code == NULL || (*names[i].code = PyLong_AsLong(code)) == -1) {
            PyErr_Format(PyExc_ValueError, "no opcode for %s", names[i].name);
            return NULL;
        }
    }
    Py_INCREF(type);
    Py_INCREF(constant_hook);
    Py_INCREF(error_hook);
    result_type = (PyTypeObject *)type;
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
    if (!PyList_CheckExact(new_tape) || !PyDict_CheckExact(new_constants)) {
        PyErr_SetString(PyExc_TypeError, "activate(tape: list, constants: dict)");
        return NULL;
    }
    Py_XSETREF(tape, Py_NewRef(new_tape));
    Py_XSETREF(constants, Py_NewRef(new_constants));
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ the reverse sweep */

static Py_ssize_t
index_at(PyObject *list, Py_ssize_t i)
{
    return PyLong_AsSsize_t(PyList_GET_ITEM(list, i));
}

static PyObject *
reverse_sweep(PyObject *module, PyObject *args)
{
    PyObject *op, *arg0, *arg1, *d0, *d1, *seed;
    long first_primitive;
    if (!PyArg_ParseTuple(args, "O!O!O!O!O!O!l", &PyList_Type, &op, &PyList_Type, &arg0, &PyList_Type, &arg1,
                          &PyList_Type, &d0, &PyList_Type, &d1, &PyDict_Type, &seed, &first_primitive)) {
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(op);
    if (PyList_GET_SIZE(arg0) != n || PyList_GET_SIZE(arg1) != n || PyList_GET_SIZE(d0) != n ||
        PyList_GET_SIZE(d1) != n) {
        PyErr_SetString(PyExc_ValueError, "reverse_sweep: the columns differ in length");
        return NULL;
    }
    double *adjoint = PyMem_Calloc(n ? n : 1, sizeof(double));
    if (adjoint == NULL) {
        return PyErr_NoMemory();
    }
    PyObject *key, *value;
    Py_ssize_t position = 0;
    while (PyDict_Next(seed, &position, &key, &value)) {
        Py_ssize_t node = PyLong_AsSsize_t(key);
        double v = PyFloat_AsDouble(value);
        if (PyErr_Occurred() || node < 0 || node >= n) {
            goto bad_index;
        }
        adjoint[node] += v;
    }
    /* The loop of sweeps.reverse_sweep, product for product in the same order. */
    for (Py_ssize_t i = n - 1; i >= 0; i--) {
        double g = adjoint[i];
        if (g == 0.0 || PyLong_AsLong(PyList_GET_ITEM(op, i)) < first_primitive) {
            continue;
        }
        Py_ssize_t a = index_at(arg0, i), b = index_at(arg1, i);
        double da = PyFloat_AsDouble(PyList_GET_ITEM(d0, i));
        if (PyErr_Occurred() || a < 0 || a >= i || b >= i) {
            goto bad_index;
        }
        if (da != 0.0) {
            adjoint[a] += g * da;
        }
        if (b >= 0) {
            double db = PyFloat_AsDouble(PyList_GET_ITEM(d1, i));
            if (db != 0.0) {
                adjoint[b] += g * db;
            }
        }
    }
    PyObject *result = PyList_New(n);
    for (Py_ssize_t i = 0; result != NULL && i < n; i++) {
        PyObject *item = PyFloat_FromDouble(adjoint[i]);
        if (item == NULL) {
            Py_CLEAR(result);
            break;
        }
        PyList_SET_ITEM(result, i, item);
    }
    PyMem_Free(adjoint);
    return result;

bad_index:
    PyMem_Free(adjoint);
    if (!PyErr_Occurred()) {
        PyErr_SetString(PyExc_ValueError, "reverse_sweep: a node refers to a later node or none");
    }
    return NULL;
}

static PyMethodDef module_methods[] = {
    {"reverse_sweep", reverse_sweep, METH_VARARGS,
     "reverse_sweep(op, arg0, arg1, d0, d1, seed, first_primitive): adjoints, as sweeps.reverse_sweep."},
    {"configure", configure, METH_VARARGS,
     "configure(var_type, constant_hook, error_hook, opcodes): the Python side of the recorder."},
    {"activate", activate, METH_VARARGS,
     "activate(tape, constants): the recording that operations append to (None, None: none)."},
    {NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "adcli._tape", "The hot path of adcli's tracer, in C.", -1, module_methods,
};

PyMODINIT_FUNC
PyInit__tape(void)
{
    if (PyType_Ready(&VarBase_Type) < 0 || PyType_Ready(&Unary_Type) < 0) {
        return NULL;
    }
    no_arg = PyLong_FromLong(-1);
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL || no_arg == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(module, "VarBase", (PyObject *)&VarBase_Type) < 0 ||
        PyModule_AddObjectRef(module, "Unary", (PyObject *)&Unary_Type) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
