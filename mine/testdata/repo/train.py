"""A script at the top of a cloned repository (not a package)."""
from mylib.blocks import Block

if __name__ == "__main__":
    print(Block(8))
