"""Personal data rights (PIPL): the data inventory, download of a person's data, and its deletion.

Sits with the readers and admin in the layers: it reads and deletes across every domain below it.
"""
