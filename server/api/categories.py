"""/api/v1/categories — the problem catalogue (SMS number, Chinese keywords, urgent flag)."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from server.api.common import (QUERY, StrictSchema, audit, documents_errors, live, page_args_schema, page_schema,
                               paginate)
from core.domain.scoping import require_admin_over_areas
from server.http.auth import staff_principal
from core.domain.categories import create_category, get_category, retire_category, update_category
from core.db import db
from core.models import Category

blp = Blueprint("categories", __name__, url_prefix="/api/v1/categories",
                description="Problem categories; used ones are deactivated, never deleted")

CODE = validate.Regexp(r"^[a-z][a-z0-9_]{0,31}$", error="Lower-case letters, digits and _, at most 32.")


class CategoryUpdateSchema(StrictSchema):
    code = fields.String(validate=CODE)
    number = fields.Integer(strict=True, validate=validate.Range(min=1, max=999),
                            metadata={"description": "what people type in an SMS; unique"})
    name_zh = fields.String(validate=validate.Length(min=1, max=50))
    name_en = fields.String(validate=validate.Length(min=1, max=80))
    keywords = fields.List(fields.String(validate=validate.Length(min=1, max=20)), validate=validate.Length(max=50))
    urgent = fields.Boolean()
    active = fields.Boolean()


class CategoryCreateSchema(CategoryUpdateSchema):
    code = fields.String(required=True, validate=CODE)
    number = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=999))
    name_zh = fields.String(required=True, validate=validate.Length(min=1, max=50))
    name_en = fields.String(required=True, validate=validate.Length(min=1, max=80))
    keywords = fields.List(fields.String(validate=validate.Length(min=1, max=20)), load_default=list,
                           validate=validate.Length(max=50))
    urgent = fields.Boolean(load_default=False)
    active = fields.Boolean(load_default=True)


class CategorySchema(Schema):
    id = fields.Integer()
    code = fields.String()
    number = fields.Integer()
    name_zh = fields.String()
    name_en = fields.String()
    keywords = fields.List(fields.String())
    urgent = fields.Boolean()
    active = fields.Boolean()


class RetiredSchema(Schema):
    id = fields.Integer()
    outcome = fields.String(metadata={"description": "deleted (unused) or deactivated (used by incidents)"})


CategoryFilter = page_args_schema({"active": fields.Boolean(), "urgent": fields.Boolean(), "number": fields.Integer(),
                                   "code": fields.String()})


@blp.route("", methods=["GET"])
@blp.arguments(CategoryFilter, **QUERY)
@blp.response(200, page_schema(CategorySchema, "CategoryPage"))
@documents_errors(blp, 401, 403)
def list_categories(args):
    staff_principal()
    statement = live(Category).order_by(Category.number)
    for key in ("active", "urgent", "number", "code"):
        if key in args:
            statement = statement.where(getattr(Category, key) == args[key])
    return paginate(statement, args, lambda r: r)


@blp.route("", methods=["POST"])
@blp.arguments(CategoryCreateSchema)
@blp.response(201, CategorySchema)
@documents_errors(blp, 400, 401, 403, 409, 413)
def create(body):
    require_admin_over_areas(staff_principal(), [None], "edit the catalogue")
    category = create_category(db.session, body)
    audit("category.create", "category", category.id, {"number": category.number, "code": category.code})
    db.session.commit()
    return category


@blp.route("/<int:category_id>", methods=["GET"])
@blp.response(200, CategorySchema)
@documents_errors(blp, 401, 403, 404)
def detail(category_id):
    staff_principal()
    return get_category(db.session, category_id)


@blp.route("/<int:category_id>", methods=["PATCH"])
@blp.arguments(CategoryUpdateSchema)
@blp.response(200, CategorySchema)
@documents_errors(blp, 400, 401, 403, 404, 409, 413)
def update(body, category_id):
    require_admin_over_areas(staff_principal(), [None], "edit the catalogue")
    category = get_category(db.session, category_id)
    update_category(db.session, category, body)
    audit("category.update", "category", category.id, {"fields": sorted(body)})
    db.session.commit()
    return category


@blp.route("/<int:category_id>", methods=["DELETE"])
@blp.response(200, RetiredSchema)
@documents_errors(blp, 401, 403, 404)
def delete(category_id):
    """Delete an unused category; a category incidents use is deactivated instead (outcome says which)."""
    require_admin_over_areas(staff_principal(), [None], "edit the catalogue")
    category = get_category(db.session, category_id)
    outcome = retire_category(db.session, category)
    audit(f"category.{'delete' if outcome == 'deleted' else 'deactivate'}", "category", category.id,
          {"number": category.number})
    db.session.commit()
    return {"id": category.id, "outcome": outcome}
