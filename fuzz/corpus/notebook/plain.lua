print("no markers")
