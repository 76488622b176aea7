"""Writes the two .xlsx fixtures beside this file (made-up respondents, no real data).

    .venv/bin/python tests/forms/build_xlsx.py

SurveyMonkey's workbook has the same two header rows as its CSV; Microsoft Forms' has one
header row (ID, start and completion times, e-mail, name, last modified time, then one
column per question, Likert rows as their statement's text). Values are typed as the tools
type them: ids and scale answers as numbers, times as dates, everything else as text.
"""

import csv
import datetime as dt
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent

ALIGNED = ("Today's AI models are aligned well enough that using them as research assistants "
           "will not quietly carry their flaws into safety work.")
SABOTAGE = ("An AI helper could subtly undermine the alignment research it is asked to assist, "
            "in ways that reviewers would miss.")
SHORT = "What is your probability that transformative AI arrives before 2036?"
ML = "I can build and train machine-learning systems and work with large codebases."


def typed(cell: str):
    """SurveyMonkey's workbook stores ids as numbers and times as dates."""
    if cell.isdigit():
        return int(cell)
    try:
        return dt.datetime.strptime(cell, "%m/%d/%Y %I:%M:%S %p")
    except ValueError:
        return cell


def save(book: openpyxl.Workbook, name: str) -> None:
    # Fixed document times; a rebuild gives the same cells (the zip's own dates still differ).
    book.properties.created = book.properties.modified = dt.datetime(2026, 11, 4, 12, 0, 0)
    book.save(HERE / name)


def surveymonkey() -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sheet"
    with open(HERE / "surveymonkey.csv", newline="", encoding="utf-8") as f:
        for k, row in enumerate(csv.reader(f)):
            sheet.append([typed(c) if k >= 2 else c for c in row])
    save(book, "surveymonkey.xlsx")


def microsoft_forms() -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sheet1"
    sheet.append(["ID", "Start time", "Completion time", "Email", "Name", "Last modified time",
                  ALIGNED, SABOTAGE, SHORT, ML, "Your role"])
    t = dt.datetime(2026, 11, 2, 9, 10, 44)
    rows = [
        ("ana.lima@example.org", "Ana Lima", "Somewhat agree", "Disagree", "70%", 6, "Researcher"),
        ("anonymous", "anonymous", "Strongly agree", None, "30%", 2, None),
        ("ben.okafor@example.org", "Ben Okafor", "Neither agree nor disagree", "Strongly agree",
         None, None, "Grantmaker"),
    ]
    for k, (mail, name, a, b, p, ml, role) in enumerate(rows, start=1):
        start = t + dt.timedelta(hours=3 * k)
        sheet.append([k, start, start + dt.timedelta(minutes=4), mail, name, None, a, b, p, ml, role])
    save(book, "microsoft_forms.xlsx")


if __name__ == "__main__":
    surveymonkey()
    microsoft_forms()
