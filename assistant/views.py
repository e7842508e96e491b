from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from knowledge.selectors import document_list


@login_required
def home(request: HttpRequest) -> HttpResponse:
    documents = document_list(fetched_by=request.user)[:200]
    return render(request, "assistant/home.html", {"documents": documents})
