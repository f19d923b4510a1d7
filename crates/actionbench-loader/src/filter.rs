//! SQL `WHERE` clauses evaluated over Arrow record batches.
//!
//! The clause is parsed with `sqlparser` (DataFusion's parser) and evaluated
//! with Arrow's compute kernels, so a loader can filter a shard directory
//! (e.g. `xsub = 'train' AND num_frames >= 32`) without a project, a lock
//! file or DataFusion. Supported: comparisons, `AND`/`OR`/`NOT`, `IN`,
//! `BETWEEN`, `LIKE`/`ILIKE`, `IS [NOT] NULL`, `IS [NOT] TRUE/FALSE`,
//! parentheses, number/string/boolean literals. Rows where the clause is
//! NULL are dropped, as in SQL.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, Scalar, StringArray};
use arrow::compute::kernels::cmp;
use arrow::compute::kernels::comparison::{ilike, like, nilike, nlike};
use arrow::compute::{and_kleene, cast, is_not_null, is_null, not, or_kleene};
use arrow::datatypes::DataType;
use sqlparser::ast::{BinaryOperator, Expr, UnaryOperator, Value};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use crate::error::LoaderError;

/// A parsed `WHERE` clause.
#[derive(Debug, Clone)]
pub struct RowFilter {
    text: String,
    expr: Expr,
}

/// An evaluated sub-expression: a column-length array or a one-row literal.
enum Val {
    Array(ArrayRef),
    Literal(ArrayRef),
}

impl Val {
    fn array(&self) -> &ArrayRef {
        match self {
            Val::Array(a) | Val::Literal(a) => a,
        }
    }
}

fn is_numeric(t: &DataType) -> bool {
    t.is_numeric()
}

impl RowFilter {
    /// Parses `text` (the part after `WHERE`).
    pub fn parse(text: &str) -> Result<Self, LoaderError> {
        let err = |message: String| LoaderError::Filter {
            filter: text.into(),
            message,
            hint: "write a SQL boolean expression over the table's columns, e.g. `xsub = 'train' AND num_frames >= 32`"
                .into(),
        };
        let dialect = GenericDialect {};
        let mut parser = Parser::new(&dialect).try_with_sql(text).map_err(|e| err(e.to_string()))?;
        let expr = parser.parse_expr().map_err(|e| err(e.to_string()))?;
        let next = parser.peek_token();
        if next.token != Token::EOF {
            return Err(err(format!(
                "unexpected `{}` at line {}, column {} after the expression",
                next.token, next.span.start.line, next.span.start.column
            )));
        }
        Ok(Self { text: text.into(), expr })
    }

    /// The clause as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Column names the clause reads (as written).
    pub fn columns(&self) -> Vec<String> {
        let mut out = Vec::new();
        collect_columns(&self.expr, &mut out);
        out.sort();
        out.dedup();
        out
    }

    /// Which rows of `batch` pass (NULL counts as false).
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<BooleanArray, LoaderError> {
        let v = self.eval(&self.expr, batch)?;
        let b = self.boolean(&v, &self.expr)?;
        let b = if b.len() == 1 && batch.num_rows() != 1 {
            let value = b.is_valid(0) && b.value(0);
            BooleanArray::from(vec![value; batch.num_rows()])
        } else {
            b
        };
        // NULL -> false.
        Ok(match b.nulls() {
            Some(_) => BooleanArray::from_iter(b.iter().map(|x| Some(x.unwrap_or(false)))),
            None => b,
        })
    }

    fn error(&self, message: String, hint: &str) -> LoaderError {
        LoaderError::Filter { filter: self.text.clone(), message, hint: hint.into() }
    }

    fn arrow_error(&self, what: &Expr) -> impl FnOnce(arrow::error::ArrowError) -> LoaderError + '_ {
        let what = what.to_string();
        move |e| self.error(format!("cannot evaluate `{what}`: {e}"), "compare columns with values of the same type")
    }

    fn boolean(&self, v: &Val, e: &Expr) -> Result<BooleanArray, LoaderError> {
        let a = v.array();
        a.as_any().downcast_ref::<BooleanArray>().cloned().ok_or_else(|| {
            self.error(
                format!("`{e}` is {}, not a boolean", a.data_type()),
                "compare it with a value, e.g. `column = 1`",
            )
        })
    }

    fn column(&self, name: &str, batch: &RecordBatch) -> Result<Val, LoaderError> {
        let schema = batch.schema();
        let idx = schema
            .index_of(name)
            .ok()
            .or_else(|| schema.fields().iter().position(|f| f.name().eq_ignore_ascii_case(name)));
        match idx {
            Some(i) => Ok(Val::Array(Arc::clone(batch.column(i)))),
            None => {
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                Err(self.error(format!("unknown column `{name}`"), &format!("the columns are: {}", names.join(", "))))
            }
        }
    }

    fn literal(&self, v: &Value) -> Result<Val, LoaderError> {
        let a: ArrayRef = match v {
            Value::Number(n, _) => match n.parse::<i64>() {
                Ok(i) => Arc::new(Int64Array::from(vec![i])),
                Err(_) => match n.parse::<f64>() {
                    Ok(f) => Arc::new(Float64Array::from(vec![f])),
                    Err(_) => return Err(self.error(format!("bad number `{n}`"), "write numbers like 3 or 2.5")),
                },
            },
            Value::SingleQuotedString(s) => Arc::new(StringArray::from(vec![s.as_str()])),
            Value::Boolean(b) => Arc::new(BooleanArray::from(vec![*b])),
            Value::Null => Arc::new(arrow::array::NullArray::new(1)),
            other => {
                return Err(self.error(
                    format!("unsupported literal `{other}`"),
                    "use 'single-quoted' strings (double quotes name columns), numbers, TRUE/FALSE or NULL",
                ));
            }
        };
        Ok(Val::Literal(a))
    }

    /// Brings both sides to one type: numbers of different types meet in
    /// float64; otherwise a literal takes the column's type.
    fn coerce(&self, l: Val, r: Val, e: &Expr) -> Result<(Val, Val), LoaderError> {
        let (lt, rt) = (l.array().data_type().clone(), r.array().data_type().clone());
        if lt == rt || lt == DataType::Null || rt == DataType::Null {
            return Ok((l, r));
        }
        let to = |v: Val, t: &DataType| -> Result<Val, LoaderError> {
            let c = cast(v.array(), t).map_err(self.arrow_error(e))?;
            if c.null_count() > v.array().null_count() {
                return Err(self.error(
                    format!("`{e}` compares {} with {}: a value does not convert", v.array().data_type(), t),
                    "compare with a value of the column's type (quote strings, not numbers)",
                ));
            }
            Ok(match v {
                Val::Array(_) => Val::Array(c),
                Val::Literal(_) => Val::Literal(c),
            })
        };
        if is_numeric(&lt) && is_numeric(&rt) {
            // `frames < 25.5` must not become `frames < 25`: meet in float64.
            return Ok((to(l, &DataType::Float64)?, to(r, &DataType::Float64)?));
        }
        match (&l, &r) {
            (Val::Literal(_), Val::Array(_)) => Ok((to(l, &rt)?, r)),
            _ => Ok((l, to(r, &lt)?)),
        }
    }

    fn compare(&self, l: Val, op: &BinaryOperator, r: Val, e: &Expr) -> Result<Val, LoaderError> {
        let (l, r) = self.coerce(l, r, e)?;
        let datum = |v: &Val| -> Box<dyn arrow::array::Datum> {
            match v {
                Val::Array(a) => Box::new(Arc::clone(a)),
                Val::Literal(a) => Box::new(Scalar::new(Arc::clone(a))),
            }
        };
        let (ld, rd) = (datum(&l), datum(&r));
        let f = match op {
            BinaryOperator::Eq => cmp::eq,
            BinaryOperator::NotEq => cmp::neq,
            BinaryOperator::Lt => cmp::lt,
            BinaryOperator::LtEq => cmp::lt_eq,
            BinaryOperator::Gt => cmp::gt,
            BinaryOperator::GtEq => cmp::gt_eq,
            _ => return Err(self.unsupported(e)),
        };
        let out = f(ld.as_ref(), rd.as_ref()).map_err(self.arrow_error(e))?;
        Ok(wrap(out, &l, &r))
    }

    fn eval(&self, e: &Expr, batch: &RecordBatch) -> Result<Val, LoaderError> {
        match e {
            Expr::Identifier(id) => self.column(&id.value, batch),
            Expr::CompoundIdentifier(ids) => {
                let last = ids.last().map(|i| i.value.as_str()).unwrap_or_default();
                self.column(last, batch)
            }
            Expr::Value(v) => self.literal(&v.value),
            Expr::Nested(inner) => self.eval(inner, batch),
            Expr::UnaryOp { op: UnaryOperator::Not, expr } => {
                let v = self.eval(expr, batch)?;
                let b = self.boolean(&v, expr)?;
                let out = not(&b).map_err(self.arrow_error(e))?;
                Ok(rewrap(out, &v))
            }
            Expr::UnaryOp { op: UnaryOperator::Minus, expr } => match expr.as_ref() {
                Expr::Value(v) => match &v.value {
                    Value::Number(n, l) => self.literal(&Value::Number(format!("-{n}"), *l)),
                    _ => Err(self.unsupported(e)),
                },
                _ => Err(self.unsupported(e)),
            },
            Expr::BinaryOp { left, op, right } => {
                let l = self.eval(left, batch)?;
                let r = self.eval(right, batch)?;
                match op {
                    BinaryOperator::And | BinaryOperator::Or => {
                        let (lb, rb) = (self.boolean(&l, left)?, self.boolean(&r, right)?);
                        let (lb, rb) = broadcast(lb, rb);
                        let out = if *op == BinaryOperator::And { and_kleene(&lb, &rb) } else { or_kleene(&lb, &rb) }
                            .map_err(self.arrow_error(e))?;
                        Ok(if out.len() == 1 && batch.num_rows() != 1 {
                            Val::Literal(Arc::new(out))
                        } else {
                            Val::Array(Arc::new(out))
                        })
                    }
                    BinaryOperator::Eq
                    | BinaryOperator::NotEq
                    | BinaryOperator::Lt
                    | BinaryOperator::LtEq
                    | BinaryOperator::Gt
                    | BinaryOperator::GtEq => self.compare(l, op, r, e),
                    _ => Err(self.unsupported(e)),
                }
            }
            Expr::InList { expr, list, negated } => {
                let mut acc: Option<Val> = None;
                for item in list {
                    let eq = self.compare(self.eval(expr, batch)?, &BinaryOperator::Eq, self.eval(item, batch)?, e)?;
                    acc = Some(match acc {
                        None => eq,
                        Some(prev) => {
                            let (a, b) = broadcast(self.boolean(&prev, e)?, self.boolean(&eq, e)?);
                            Val::Array(Arc::new(or_kleene(&a, &b).map_err(self.arrow_error(e))?))
                        }
                    });
                }
                let v = acc.ok_or_else(|| self.error(format!("`{e}` has an empty list"), "list at least one value"))?;
                self.maybe_not(v, *negated, e)
            }
            Expr::Between { expr, negated, low, high } => {
                let ge = self.compare(self.eval(expr, batch)?, &BinaryOperator::GtEq, self.eval(low, batch)?, e)?;
                let le = self.compare(self.eval(expr, batch)?, &BinaryOperator::LtEq, self.eval(high, batch)?, e)?;
                let (a, b) = broadcast(self.boolean(&ge, e)?, self.boolean(&le, e)?);
                let v = Val::Array(Arc::new(and_kleene(&a, &b).map_err(self.arrow_error(e))?));
                self.maybe_not(v, *negated, e)
            }
            Expr::Like { negated, expr, pattern, escape_char: None, any: false }
            | Expr::ILike { negated, expr, pattern, escape_char: None, any: false } => {
                let insensitive = matches!(e, Expr::ILike { .. });
                let l = self.eval(expr, batch)?;
                let r = self.eval(pattern, batch)?;
                let (l, r) = self.coerce(l, r, e)?;
                let (la, ra) = (l.array(), r.array());
                let f = match (insensitive, *negated) {
                    (false, false) => like,
                    (false, true) => nlike,
                    (true, false) => ilike,
                    (true, true) => nilike,
                };
                let out = match (&l, &r) {
                    (Val::Array(_), Val::Literal(_)) => f(la, &Scalar::new(Arc::clone(ra))),
                    _ => f(la, ra),
                }
                .map_err(self.arrow_error(e))?;
                Ok(wrap(out, &l, &r))
            }
            Expr::IsNull(inner) | Expr::IsNotNull(inner) => {
                let v = self.eval(inner, batch)?;
                let out = if matches!(e, Expr::IsNull(_)) { is_null(v.array()) } else { is_not_null(v.array()) }
                    .map_err(self.arrow_error(e))?;
                Ok(rewrap(out, &v))
            }
            Expr::IsTrue(inner) | Expr::IsFalse(inner) | Expr::IsNotTrue(inner) | Expr::IsNotFalse(inner) => {
                let v = self.eval(inner, batch)?;
                let b = self.boolean(&v, inner)?;
                let want = matches!(e, Expr::IsTrue(_) | Expr::IsNotTrue(_));
                let negate = matches!(e, Expr::IsNotTrue(_) | Expr::IsNotFalse(_));
                let out: BooleanArray = b.iter().map(|x| Some((x == Some(want)) != negate)).collect();
                Ok(rewrap(out, &v))
            }
            _ => Err(self.unsupported(e)),
        }
    }

    fn maybe_not(&self, v: Val, negated: bool, e: &Expr) -> Result<Val, LoaderError> {
        if !negated {
            return Ok(v);
        }
        let b = self.boolean(&v, e)?;
        Ok(rewrap(not(&b).map_err(self.arrow_error(e))?, &v))
    }

    fn unsupported(&self, e: &Expr) -> LoaderError {
        self.error(
            format!("`{e}` is not supported by the loader's filter"),
            "use comparisons, AND/OR/NOT, IN, BETWEEN, LIKE and IS NULL; or select rows with `actionbench sql` \
             and load the query result (Table::from_sql)",
        )
    }
}

fn wrap(out: BooleanArray, l: &Val, r: &Val) -> Val {
    match (l, r) {
        (Val::Literal(_), Val::Literal(_)) => Val::Literal(Arc::new(out)),
        _ => Val::Array(Arc::new(out)),
    }
}

fn rewrap(out: BooleanArray, like: &Val) -> Val {
    match like {
        Val::Literal(_) => Val::Literal(Arc::new(out)),
        Val::Array(_) => Val::Array(Arc::new(out)),
    }
}

/// Repeats a one-row side to the other side's length.
fn broadcast(a: BooleanArray, b: BooleanArray) -> (BooleanArray, BooleanArray) {
    let grow = |x: &BooleanArray, n: usize| -> BooleanArray {
        let v = x.is_valid(0).then(|| x.value(0));
        BooleanArray::from(vec![v; n])
    };
    match (a.len(), b.len()) {
        (1, n) if n != 1 => (grow(&a, n), b),
        (n, 1) if n != 1 => (a, grow(&b, n)),
        _ => (a, b),
    }
}

fn collect_columns(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::Identifier(id) => out.push(id.value.clone()),
        Expr::CompoundIdentifier(ids) => out.extend(ids.last().map(|i| i.value.clone())),
        Expr::Nested(x)
        | Expr::UnaryOp { expr: x, .. }
        | Expr::IsNull(x)
        | Expr::IsNotNull(x)
        | Expr::IsTrue(x)
        | Expr::IsFalse(x)
        | Expr::IsNotTrue(x)
        | Expr::IsNotFalse(x) => collect_columns(x, out),
        Expr::BinaryOp { left, right, .. } => {
            collect_columns(left, out);
            collect_columns(right, out);
        }
        Expr::InList { expr, list, .. } => {
            collect_columns(expr, out);
            list.iter().for_each(|x| collect_columns(x, out));
        }
        Expr::Between { expr, low, high, .. } => {
            for x in [expr, low, high] {
                collect_columns(x, out);
            }
        }
        Expr::Like { expr, pattern, .. } | Expr::ILike { expr, pattern, .. } => {
            collect_columns(expr, out);
            collect_columns(pattern, out);
        }
        _ => {}
    }
}
