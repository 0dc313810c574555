from sandbox.shop.cli import shop_command

if __name__ == "__main__":
    shop_command(prog_name="python -m sandbox.shop")
