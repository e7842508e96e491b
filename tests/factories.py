"""factory_boy factories. Documents and chunks are written as the system (ingestion does the same)."""

from __future__ import annotations

import hashlib

import factory
from django.contrib.auth.models import Group

from accounts.models import Role, User
from knowledge.models import Chunk, Document, Source
from knowledge.services.embeddings import current_model, embedding_model_name


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.STAFF
    password = factory.django.Password("correct horse battery staple")


class GroupFactory(factory.django.DjangoModelFactory[Group]):
    class Meta:
        model = Group
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"group{n}")


class SourceFactory(factory.django.DjangoModelFactory[Source]):
    class Meta:
        model = Source

    name = factory.Sequence(lambda n: f"Source {n}")


class DocumentFactory(factory.django.DjangoModelFactory[Document]):
    class Meta:
        model = Document

    source = factory.SubFactory(SourceFactory)
    title = factory.Sequence(lambda n: f"Document {n}")
    uri = factory.LazyAttribute(lambda d: f"{d.title.lower().replace(' ', '-')}.txt")
    checksum = factory.LazyAttribute(lambda d: hashlib.sha256(d.title.encode()).hexdigest())
    status = Document.Status.READY


def unit_vector(axis: int) -> list[float]:
    dimensions = current_model().dimensions
    vector = [0.0] * dimensions
    vector[axis % dimensions] = 1.0
    return vector


class ChunkFactory(factory.django.DjangoModelFactory[Chunk]):
    class Meta:
        model = Chunk

    document = factory.SubFactory(DocumentFactory)
    ordinal = factory.Sequence(lambda n: n)
    text = factory.LazyAttribute(lambda c: f"Text of chunk {c.ordinal}")
    embedding = factory.LazyAttribute(lambda c: unit_vector(c.ordinal))
    embedding_model = factory.LazyFunction(embedding_model_name)  # search compares only these
