"""Extension singletons, bound to an app in `server.create_app`."""
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy import MetaData

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class GridpatrolApi(Api):
    @property
    def ERROR_SCHEMA(self):  # noqa: N802 - flask-smorest's name; documents errors in our one shape
        from server.api.common import ErrorSchema
        return ErrorSchema


db = SQLAlchemy(model_class=Base)
api = GridpatrolApi()
