"""The example quiz of the format's description (three questions, bonus marks), shared by the quiz tests."""

SPEC_QUESTIONS = """\
1. Which keyword defines a function?
A) func
B*) def
C) lambda
D) define

2#. What does this code print?
x = [1, 2, 3]
print(len(x))

A) 2
B) 1
C*) 3
D) error

3##. Which of these is immutable?
A) list
B) dict
C) set
D*) tuple
"""

SPEC_EXAMPLE = "Тема: Python basics\n\n" + SPEC_QUESTIONS
